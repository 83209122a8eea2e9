import { join } from "node:path";
import { Command } from "commander";
import { RollcallError } from "../../errors.ts";
import { openStore } from "../../storage/database.ts";
import { copyDatabase } from "../../storage/copy-database.ts";
import { run, withJson } from "../io.ts";

/** The URL as it may be printed: without its password. */
function shown(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

export function copyDatabaseCommand(): Command {
  return withJson(
    new Command("copy-database").description(
      "copy the embedded database (ROLLCALL_DATA_DIR) into a new, empty PostgreSQL database, to run on it from then on (DATABASE_URL); stop `rollcall serve` first",
    ),
  )
    .requiredOption("--to <url>", "the PostgreSQL database to fill: postgres://user:password@host:5432/name (an existing, empty database; its tables are created)")
    .action(async (opts) =>
      run(
        opts,
        async (rt) => {
          if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new RollcallError("invalid_input", "--to must be a postgres:// or postgresql:// URL", { fields: [{ field: "to", message: "must be a postgres:// or postgresql:// URL" }] });
          if (rt.store.kind !== "pglite") throw new RollcallError("config_invalid", "DATABASE_URL is set, so there is no embedded database to copy: unset it to copy the data folder's (use pg_dump to copy one PostgreSQL database into another)");
          const target = await openStore({ kind: "postgres", url: opts.to, setting: "--to" }, { command: "copy-database" });
          try {
            const tables = await copyDatabase(rt.store, target, ({ table, rows }) => rt.logger.debug({ table, rows }, "table copied"));
            return {
              to: shown(opts.to),
              rows: tables.reduce((n, t) => n + t.rows, 0),
              tables,
              secretKey: rt.config.secretKey ? "ROLLCALL_SECRET_KEY" : join(rt.config.dataDir, "secret.key"),
            };
          } finally {
            await target.close();
          }
        },
        {
          human: (r) =>
            `copied ${r.rows} rows of ${r.tables.length} tables into ${r.to}\n` +
            `Run Rollcall on it with DATABASE_URL set to that database and ROLLCALL_SECRET_KEY set to ${r.secretKey === "ROLLCALL_SECRET_KEY" ? "the same key as now" : `the contents of ${r.secretKey}`} (the stored secrets were encrypted with it).`,
        },
        "copy-database",
      ),
    );
}
