import { Command } from "commander";
import { rotateSecretKey } from "../../core/secret-key.ts";
import { run, withJson } from "../io.ts";

export function secretKeyCommand(): Command {
  const key = new Command("secret-key").description("the key that encrypts stored secrets (client secrets, certificates, webhook secrets)");
  key.addCommand(
    withJson(
      new Command("rotate").description(
        "encrypt every stored secret again with a new key, without entering any again: with ROLLCALL_SECRET_KEY, the new key set there and the old one in ROLLCALL_SECRET_KEY_PREVIOUS; else a new secret.key in the data folder",
      ),
    ).action(async (opts) =>
      run(opts, (rt) => rotateSecretKey(rt.config, rt.store.db), {
        human: (r) =>
          `encrypted ${r.sources} source secret(s) and ${r.webhooks} webhook secret(s) again with the new key (${r.key})` +
          (r.key === "ROLLCALL_SECRET_KEY" ? "; ROLLCALL_SECRET_KEY_PREVIOUS can now be removed from every process" : "; keep a copy of the new secret.key with your backups"),
      }),
    ),
  );
  return key;
}
