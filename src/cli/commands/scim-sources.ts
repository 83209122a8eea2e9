import { Command, Option } from "commander";
import { invalidInput } from "../../errors.ts";
import type { Credential } from "../../sources/entra/token.ts";
import type { ScimSignInSettings } from "../../core/scim-signin-settings.ts";
import { scimRemovals, type ScimConfig, type ScimSource } from "../../core/scim-sources.ts";
import type { Directory } from "../directory.ts";
import { directoryCommand, runOn, suggest, type GlobalOptions } from "../io.ts";

/** `rollcall sources add scim` and what the sources commands say of a SCIM source: Entra ID pushes to it over SCIM 2.0. */
type Flags = Record<string, unknown> & GlobalOptions;

export function scimConfigFromFlags(flags: Flags): Partial<ScimConfig> {
  return {
    ...(flags.onRemove !== undefined && { onRemove: flags.onRemove as ScimConfig["onRemove"] }),
    ...(flags.country !== undefined && { country: flags.country === false || flags.country === "" ? null : String(flags.country) }),
  };
}

/** `sources add scim`'s sign-in with Microsoft flags, as settings (`sources update` reads the same flags). */
function signInFromFlags(flags: Flags): Partial<ScimSignInSettings> {
  return {
    ...(flags.signIn !== undefined && { signIn: flags.signIn === true }),
    ...(flags.tenantId !== undefined && { tenantId: String(flags.tenantId) }),
    ...(flags.clientId !== undefined && { clientId: String(flags.clientId) }),
    ...(flags.cloud !== undefined && { cloud: flags.cloud as ScimSignInSettings["cloud"] }),
    ...(flags.loginUrl !== undefined && { loginUrl: String(flags.loginUrl) }),
    ...(flags.secretExpiresOn !== undefined && { secretExpiresOn: String(flags.secretExpiresOn) }),
  };
}

/** `readCredential`: the sign-in client secret (--client-secret-env) or certificate, read as `sources update` reads it. */
export function addScimCommand(readCredential: (flags: Flags) => Credential | undefined): Command {
  return directoryCommand("scim", "add a SCIM source: Entra ID's provisioning service pushes users and groups to Rollcall (prints its Tenant URL and Secret Token, once)")
    .requiredOption("--name <name>", "source name (shown on provisioned users)")
    .addOption(new Option("--on-remove <action>", "what happens to a user Entra ID deletes: disable it (default), delete it, or keep it as it is; both keep it managed here").choices(scimRemovals))
    .option("--country <CC>", "country for reading local phone numbers (default: the workspace's)")
    .option("--sign-in", "the source's users sign in with Microsoft, through the enterprise application's app registration (needs --tenant-id, --client-id and --client-secret-env)")
    .option("--tenant-id <id>", "sign-in: the directory (tenant) ID people sign in from")
    .option("--client-id <id>", "sign-in: the application (client) ID of the enterprise application's app registration")
    .option("--client-secret-env <VAR>", "sign-in: name of the environment variable holding a client secret of that app registration")
    .option("--certificate-file <file>", "sign-in: certificate (PEM) instead of a secret, with --private-key-file")
    .option("--private-key-file <file>", "sign-in: the certificate's private key (PKCS#8 PEM)")
    .option("--secret-expires-on <YYYY-MM-DD>", "sign-in: when the client secret expires (notifications 30, 14, 7 and 1 days before; a certificate's own date by default)")
    .addOption(new Option("--cloud <cloud>", "sign-in: national cloud").choices(["global", "usgov", "usgovdod", "china"]))
    .option("--login-url <url>", "sign-in: login base URL (default: the cloud's; another host, such as the emulator's, needs ROLLCALL_ENTRA_CUSTOM_URLS=true)")
    .action(async (flags: Flags) =>
      runOn(flags, (directory) => directory.scimSources.add({ name: String(flags.name), config: { ...scimConfigFromFlags(flags), ...signInFromFlags(flags) }, credential: readCredential(flags) }), {
        human: (s) => [`added SCIM source ${s.name}`, ...tokenLines(s, s.token, flags.workspace), describeScimSource(s)].join("\n"),
      }),
    );
}

/** The Tenant URL and Secret Token to paste in the Azure portal: the token shown this once. */
export function tokenLines(s: ScimSource, token: string, workspace: string | undefined): string[] {
  return [
    "",
    "In the Azure portal: Enterprise applications → your application → Provisioning → Provisioning Mode: Automatic; under Admin Credentials paste",
    `  Tenant URL:    ${s.tenantUrl}`,
    `  Secret Token:  ${token}`,
    `The token is shown this once and stored only as a hash: ${suggest(["sources", "update", s.name, "--new-scim-token"], workspace)} issues a new one (the old one stops working).`,
    "Then Test Connection, Save, and turn Provisioning Status On.",
    "",
  ];
}

export function describeScimSource(s: ScimSource): string {
  return [
    `${s.name} (SCIM, pushed by Entra ID's provisioning service)`,
    `  Tenant URL:   ${s.tenantUrl}`,
    `  token:        issued ${s.status.tokenIssuedAt}`,
    `  last request: ${s.status.lastRequestAt ?? "never (check the provisioning logs in the Azure portal)"}`,
    `  provisioned:  ${s.status.users} users, ${s.status.groups} groups`,
    `  phones:       local numbers read ${s.config.country ? `as ${s.config.country}` : "in the workspace's default country"}`,
    `  on removal:   ${s.config.onRemove} (a user Entra ID deletes or unassigns${s.config.onRemove === "delete" ? " is deleted" : `${s.config.onRemove === "disable" ? " is disabled and" : ""} stays, managed in Rollcall`})`,
    `  sign-in:      ${signInText(s)}`,
  ].join("\n");
}

function signInText(s: ScimSource): string {
  const app = s.config.tenantId || s.config.clientId ? ` (tenant ${s.config.tenantId ?? "not set"}, client ${s.config.clientId ?? "not set"}, ${s.config.credential === "certificate" ? "" : "secret "}${s.secret.description})` : "";
  return `${s.config.signIn ? "with Microsoft" : "off"}${app}`;
}

/** The `sources update` flags (as settings) of sign-in with Microsoft that a SCIM source takes, with --client-secret-env. */
export const scimSignInFlags = ["signIn", "tenantId", "clientId", "cloud", "loginUrl", "secretExpiresOn"] as const;

/**
 * `sources update NAME` of a SCIM source: --rename, --on-remove, --country, --new-scim-token, and sign-in with Microsoft
 * (--sign-in, --tenant-id, --client-id, --client-secret-env or --certificate-file with --private-key-file, --secret-expires-on,
 * --login-url); any other Entra ID setting is refused by name.
 */
export async function updateScimSource(directory: Directory, name: string, flags: Flags & { rename?: string | undefined }, entraSettings: string[], signIn: { signIn: Partial<ScimSignInSettings>; credential: Credential | undefined }) {
  const takes = "--rename, --new-scim-token, --on-remove, --country, --sign-in, --tenant-id, --client-id, --client-secret-env, --certificate-file, --secret-expires-on or --login-url";
  if (entraSettings.length) throw invalidInput(entraSettings.map((field) => ({ field, message: `is an Entra ID source's setting; "${name}" is a SCIM source (it takes ${takes})` })));
  const config = { ...scimConfigFromFlags(flags), ...signIn.signIn };
  if (!flags.newScimToken && flags.rename === undefined && !signIn.credential && Object.keys(config).length === 0) throw invalidInput([{ field: "newScimToken", message: `nothing to change: give ${takes}` }]);
  return directory.scimSources.update(name, { name: flags.rename, config, newToken: flags.newScimToken === true, credential: signIn.credential });
}
