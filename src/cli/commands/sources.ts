import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { fileProblem, invalidInput } from "../../errors.ts";
import type { Source } from "../../core/sources.ts";
import { sourceRemovals, type RemovedSource, type SourceRemoval } from "../../core/source-removal.ts";
import { wallClock } from "../../domain/wall-clock.ts";
import { cronProblem, defaultScheduleZone, endpoints, timeZoneProblem, type EntraConfigInput } from "../../sources/entra/config.ts";
import { formatInterval, parseInterval } from "../../domain/interval.ts";
import type { Credential } from "../../sources/entra/token.ts";
import { sourceTryCommand } from "./source-try.ts";
import { addScimCommand, describeScimSource, scimSignInFlags, tokenLines, updateScimSource } from "./scim-sources.ts";
import type { ScimSource } from "../../core/scim-sources.ts";
import type { RemovedScimSource } from "../directory.ts";
import { collect, confirm, directoryCommand, runOn, suggest, table, withConfirmation, type GlobalOptions } from "../io.ts";

/** `rollcall sources …`: Entra ID sources. Secrets come from an environment variable, never a flag value. */
const csv = (value: string | undefined) => (value === undefined ? undefined : value.split(",").map((s) => s.trim()).filter(Boolean));

function withSourceFlags(command: Command): Command {
  return command
    .option("--tenant-id <id>", "directory (tenant) ID")
    .option("--client-id <id>", "application (client) ID")
    .option("--client-secret-env <VAR>", "name of the environment variable holding the client secret")
    .option("--certificate-file <file>", "certificate (PEM) instead of a secret, with --private-key-file")
    .option("--private-key-file <file>", "the certificate's private key (PKCS#8 PEM)")
    .option("--secret-expires-on <YYYY-MM-DD>", "when the secret expires (shown as a reminder)")
    .addOption(new Option("--cloud <cloud>", "national cloud").choices(["global", "usgov", "usgovdod", "china"]))
    .option("--login-url <url>", "login base URL (default: the cloud's; another host, such as the emulator's, needs ROLLCALL_ENTRA_CUSTOM_URLS=true)")
    .option("--no-login-url", "back to the cloud's login URL")
    .option("--graph-url <url>", "Graph base URL (default: the cloud's; another host needs ROLLCALL_ENTRA_CUSTOM_URLS=true)")
    .option("--no-graph-url", "back to the cloud's Graph URL")
    .addOption(new Option("--users <scope>", "which users").choices(["all", "groups"]))
    .option("--groups <names>", "comma-separated groups: the user scope with --users groups, the synced groups with --group-mode selected (on an update, whichever of the two the command or, failing that, the source names)")
    .option("--scope-groups <names>", "comma-separated groups whose members (nested too) are the user scope, with --users groups; --groups then names only the synced groups")
    .addOption(new Option("--group-mode <mode>", "which groups to sync").choices(["none", "selected", "attribute", "all"]))
    .option("--group-attribute <property>", "user property giving one group per distinct value (e.g. department)")
    .option("--ignore-groups <names>", "comma-separated group names (whole, without case) or object IDs to leave out")
    .option("--ignore-groups-containing <text>", "leave out groups whose name contains this (case-insensitive; comma-separated for several)")
    .option("--include-guests", "sync guest users too")
    .option("--no-include-guests", "leave guest users out (default)")
    .option("--sync-managers", "sync each user's manager from Entra ID (managers outside the synced users are left out)")
    .option("--no-sync-managers", "leave managers alone (default): Graph is not asked for them")
    .option("--country <CC>", "country for reading local phone numbers of users without a usage location (default: the workspace's)")
    .option("--no-country", "no default country (local phone numbers are then not read)")
    .addOption(new Option("--on-remove <action>", "what happens to users deleted in Entra or out of scope").choices(["disable", "delete", "keep"]))
    .option("--map <FIELD=PROPERTY>", "map a Graph user property to a Rollcall field (repeatable), e.g. cardNumbers=onPremisesExtensionAttributes.extensionAttribute10 or a directory extension, cardNumbers=extension_APPID_badgeNumber; FIELD= removes the field's mapping", collect)
    .option("--schedule <every>", "automatic sync: on (every 24 hours), an interval (12h, 30m), a cron expression, or off")
    .option("--time-zone <zone>", "the IANA time zone of a cron schedule's hours, e.g. Europe/Berlin (default UTC; daylight saving time is followed)")
    .option("--full-every <interval>", "full reconciliation interval (default 7d)")
    .option("--deletion-threshold-percent <n>", "stop a run removing more than this % of the source's users (default 10)")
    .option("--deletion-threshold-count <n>", "... and more than this many users (default 20)")
    .option("--link-by-email", "link a manual or imported user with the same email (default)")
    .option("--no-link-by-email", "report a conflict instead of linking a manual or imported user with the same email")
    .option("--sign-in", "use as authentication server: this source's users sign in with Microsoft")
    .option("--no-sign-in", "turn Microsoft sign-in off for this source's users (default)")
    .option("--sync-on-change", "sync on change: Microsoft Graph notifies Rollcall of changes to users and groups, and a delta run follows within a minute (needs ROLLCALL_PUBLIC_URL, reachable from Microsoft over HTTPS)")
    .option("--no-sync-on-change", "turn sync on change off (default): the source's Graph subscriptions are deleted")
    .option("--photos", "sync photos: each user's Entra ID profile photo (240x240), for users a run creates or changes and, in a full run, every user's by its ETag (needs User.Read.All, which a sync has)")
    .option("--no-photos", "turn photo syncing off (default); photos already synced stay");
}

type Flags = Record<string, unknown> & GlobalOptions;

/** The settings of `sources update` a SCIM source takes: its own, and those of sign-in with Microsoft. */
const scimSettings = new Set<string>(["onRemove", "country", ...scimSignInFlags]);
const pick = <T extends object>(from: T, keys: readonly string[]) => Object.fromEntries(Object.entries(from).filter(([key]) => keys.includes(key)));

function configFromFlags(flags: Flags, base: Partial<EntraConfigInput> = {}): Partial<EntraConfigInput> {
  const c: Partial<EntraConfigInput> = {};
  const set = <K extends keyof EntraConfigInput>(key: K, value: EntraConfigInput[K] | undefined) => {
    if (value !== undefined) c[key] = value;
  };
  set("tenantId", flags.tenantId as string | undefined);
  set("clientId", flags.clientId as string | undefined);
  set("secretExpiresOn", flags.secretExpiresOn as string | undefined);
  set("cloud", flags.cloud as EntraConfigInput["cloud"]);
  // --no-X or an empty value clears a setting back to its default.
  const clearable = (value: unknown) => (value === false || value === "" ? null : (value as string | undefined));
  set("loginUrl", clearable(flags.loginUrl));
  set("graphUrl", clearable(flags.graphUrl));
  set("users", flags.users as EntraConfigInput["users"]);
  const scopeGroups = csv(flags.scopeGroups as string | undefined);
  if (scopeGroups) Object.assign(c, { scopeGroups }, flags.users === undefined && { users: "groups" });
  const groups = csv(flags.groups as string | undefined);
  if (groups) Object.assign(c, groupsFlag(groups, flags, base, Boolean(scopeGroups)));
  set("groupMode", flags.groupMode as EntraConfigInput["groupMode"]);
  set("groupAttribute", flags.groupAttribute as string | undefined);
  set("ignoreGroups", csv(flags.ignoreGroups as string | undefined));
  set("ignoreGroupsContaining", csv(flags.ignoreGroupsContaining as string | undefined));
  set("includeGuests", flags.includeGuests as boolean | undefined);
  set("syncManagers", flags.syncManagers as boolean | undefined);
  set("country", clearable(flags.country));
  set("onRemove", flags.onRemove as EntraConfigInput["onRemove"]);
  set("linkByEmail", flags.linkByEmail as boolean | undefined);
  set("signIn", flags.signIn as boolean | undefined);
  set("syncOnChange", flags.syncOnChange as boolean | undefined);
  set("photos", flags.photos as boolean | undefined);
  if (flags.map) {
    const mapping: Record<string, string> = { ...(base.mapping ?? {}) };
    const given = new Map<string, string>();
    for (const pair of flags.map as string[]) {
      const at = pair.indexOf("=");
      if (at <= 0) throw invalidInput([{ field: "mapping", message: `"${pair}" must be FIELD=GRAPH_PROPERTY`, value: pair }]);
      const [field, property] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      if (given.has(field)) throw invalidInput([{ field: "mapping", message: `${field} is mapped twice ("${given.get(field)}" and "${pair}"); give each field once`, value: pair }]);
      given.set(field, pair);
      if (property === "") delete mapping[field]; // FIELD= goes back to the default (or to no mapping)
      else mapping[field] = property;
    }
    c.mapping = mapping;
  }
  Object.assign(c, scheduleFromFlags(flags, base));
  if (flags.fullEvery !== undefined) {
    const ms = parseInterval(String(flags.fullEvery));
    if (ms === undefined) throw invalidInput([{ field: "fullEvery", message: "must be an interval such as 7d or 12h", value: flags.fullEvery }]);
    c.fullEveryMs = ms;
  }
  if (flags.deletionThresholdPercent !== undefined || flags.deletionThresholdCount !== undefined) {
    const current = base.deletionThreshold ?? { percent: 10, count: 20 };
    c.deletionThreshold = {
      percent: flags.deletionThresholdPercent !== undefined ? Number(flags.deletionThresholdPercent) : current.percent,
      count: flags.deletionThresholdCount !== undefined ? Number(flags.deletionThresholdCount) : current.count,
    };
  }
  return c;
}

/** --schedule and --time-zone as the source's `schedule` ({} when neither is given). A cron schedule keeps its zone when only its expression changes. */
function scheduleFromFlags(flags: Flags, base: Partial<EntraConfigInput>): Partial<EntraConfigInput> {
  const zone = flags.timeZone === undefined ? undefined : String(flags.timeZone).trim();
  const zoneProblem = zone === undefined ? undefined : timeZoneProblem(zone);
  if (zoneProblem) throw invalidInput([{ field: "timeZone", message: zoneProblem, value: zone }]);
  const current = base.schedule && "cron" in base.schedule ? base.schedule : undefined;
  if (flags.schedule === undefined) {
    if (zone === undefined) return {};
    if (!current) throw invalidInput([{ field: "timeZone", message: 'a time zone applies to a cron schedule: give one with it, e.g. --schedule "0 2 * * *"', value: zone }]);
    return { schedule: { ...current, timeZone: zone } };
  }
  const text = String(flags.schedule).trim();
  const ms = parseInterval(text);
  if (/\s/.test(text)) {
    const timeZone = zone ?? current?.timeZone;
    const problem = cronProblem(text, timeZone);
    if (problem) throw invalidInput([{ field: "schedule", message: `"${text}" ${problem}`, value: text }]);
    return { schedule: { cron: text, ...(timeZone && { timeZone }) } };
  }
  if (zone !== undefined) throw invalidInput([{ field: "timeZone", message: `a time zone applies to a cron schedule, not to "${text}"`, value: zone }]);
  if (text === "off" || text === "none") return { schedule: null };
  if (text === "on") return { schedule: { everyMs: 24 * 3_600_000 } };
  if (ms !== undefined) return { schedule: { everyMs: ms } };
  throw invalidInput([{ field: "schedule", message: `"${text}" is neither on, off, an interval (24h, 30m) nor a cron expression`, value: text }]);
}

/**
 * What `--groups` sets. The issue's CLI gives one flag for two lists: the user scope's groups (--users groups) and
 * the synced groups (--group-mode selected). A command naming both modes sets both (`sources add … --users groups
 * --group-mode selected --groups "Staff"`); naming one, that one. An update naming neither sets the list the source
 * uses, and refuses to guess when it uses both: changing one list must never quietly change the other.
 */
function groupsFlag(groups: string[], flags: Flags, base: Partial<EntraConfigInput>, scopeGiven: boolean): Partial<EntraConfigInput> {
  const namesScope = !scopeGiven && flags.users === "groups";
  const namesSynced = flags.groupMode === "selected";
  if (scopeGiven || namesScope || namesSynced) {
    if (scopeGiven && !namesSynced && (base.groupMode ?? "none") !== "selected" && flags.groupMode === undefined) return { groups, groupMode: "selected" };
    return { ...(namesScope && { scopeGroups: groups }), ...((namesSynced || scopeGiven) && { groups }) };
  }
  const scope = (flags.users ?? base.users) === "groups";
  const mode = flags.groupMode ?? base.groupMode ?? "none";
  if (scope && mode === "selected") {
    throw invalidInput([{ field: "groups", message: 'could name this source\'s user scope or its synced groups: give --scope-groups "…" for the groups whose members are synced, or --group-mode selected with --groups for the groups synced', value: groups.join(",") }]);
  }
  if (scope) return { scopeGroups: groups };
  if (mode === "selected") return { groups };
  if (mode === "none") return { groups, groupMode: "selected" };
  throw invalidInput([{ field: "groups", message: `has no effect: this source syncs ${mode === "all" ? "all groups" : "one group per value of a user attribute"}; add --group-mode selected to sync only these groups, or --users groups (or --scope-groups) to sync only their members`, value: groups.join(",") }]);
}

/** `--rename NEW` or `--name NEW` (as `groups update` says it); both, differing, are refused. */
function renameFlag(flags: Flags): string | undefined {
  const [rename, name] = [flags.rename as string | undefined, flags.name as string | undefined];
  if (rename !== undefined && name !== undefined && rename !== name) throw invalidInput([{ field: "name", message: `--rename "${rename}" and --name "${name}" say two names: give one`, value: name }]);
  return rename ?? name;
}

function credentialFromFlags(flags: Flags): Credential | undefined {
  if (flags.clientSecretEnv) {
    const name = String(flags.clientSecretEnv);
    const secret = process.env[name];
    if (!secret) throw invalidInput([{ field: "clientSecret", message: `environment variable ${name} is not set (or empty)`, value: name }]);
    return { kind: "secret", secret };
  }
  if (flags.certificateFile || flags.privateKeyFile) {
    if (!flags.certificateFile || !flags.privateKeyFile) throw invalidInput([{ field: "certificate", message: "give both --certificate-file and --private-key-file" }]);
    const read = (field: string, file: string) => {
      try {
        return readFileSync(file, "utf8");
      } catch (error) {
        throw invalidInput([{ field, message: `cannot read ${file} (${fileProblem(error)}): give the path of a PEM file`, value: file }]);
      }
    };
    return { kind: "certificate", certificatePem: read("certificateFile", String(flags.certificateFile)), privateKeyPem: read("privateKeyFile", String(flags.privateKeyFile)) };
  }
  return undefined;
}

/** The fields the source maps differently from the defaults (config.ts `defaultMapping`), as `sources show` says them. */
function mappingText(mapping: Record<string, string>): string {
  const own = Object.entries(mapping);
  if (!own.length) return "default (each field from the Graph property of its name; email ← mail, else userPrincipalName; enabled ← accountEnabled)";
  return `${own.map(([field, property]) => `${field} ← ${property}`).join(", ")} (other fields as default)`;
}

export function describeSource(s: Source, workspace?: string): string {
  const c = s.config;
  const scope = c.users === "all" ? "all users" : `transitive members of ${c.scopeGroups.join(", ")}`;
  const groups = c.groupMode === "none" ? "none" : c.groupMode === "attribute" ? `one per ${c.groupAttribute}` : c.groupMode === "selected" ? c.groups.join(", ") : "all";
  const urls = endpoints(c);
  return [
    `${s.name} (Entra ID, tenant ${c.tenantId}, client ${c.clientId})`,
    `  secret:      ${s.secret.description}`,
    `  endpoints:   login ${urls.loginUrl}, Graph ${urls.graphUrl}${c.loginUrl || c.graphUrl ? "" : ` (${c.cloud} cloud)`}`,
    `  users:       ${scope}${c.includeGuests ? " including guests" : ", guests excluded"}`,
    `  groups:      ${groups}${c.ignoreGroups.length || c.ignoreGroupsContaining.length ? ` (ignoring ${[...c.ignoreGroups, ...c.ignoreGroupsContaining.map((t) => `*${t}*`)].join(", ")})` : ""}`,
    `  mapping:     ${mappingText(c.mapping)}`,
    `  managers:    ${c.syncManagers ? "synced from Entra ID (a manager outside the synced users is left out)" : "not synced (`--sync-managers` syncs them)"}`,
    `  phones:      local numbers read by each user's usage location${c.country ? `, else as ${c.country}` : " only (no default country)"}`,
    `  on removal:  ${c.onRemove}; threshold > ${c.deletionThreshold.percent}% and > ${c.deletionThreshold.count} users`,
    `  sign-in:     ${c.signIn ? "on: its users Sign in with Microsoft (the app registration lists the server's /api/v1/auth/microsoft/callback as a Web redirect URI and its /api/v1/auth/microsoft/frontchannel-logout as the Front-channel logout URL; with the login_hint ID-token claim, signing out of Microsoft needs no account picker)" : "off (`--sign-in` lets its users Sign in with Microsoft)"}`,
    `  schedule:    ${c.schedule ? ("everyMs" in c.schedule ? `every ${formatInterval(c.schedule.everyMs)}` : `${c.schedule.cron} (${c.schedule.timeZone ?? defaultScheduleZone})`) : "off"}${s.status.nextRunAt ? ` (next ${wallClock(s.status.nextRunAt, scheduleZone(c))})` : ""}; a full listing at least every ${formatInterval(c.fullEveryMs)}`,
    `  on change:   ${syncOnChangeText(s)}`,
    `  photos:      ${c.photos ? "synced (240x240 where Entra ID has it)" : "off (`--photos` syncs each user's Entra ID profile photo)"}`,
    `  synced:      ${s.status.syncedUsers} users, ${s.status.syncedGroups} groups`,
    `  last run:    ${s.status.lastRun ? `${s.status.lastRun.status}${s.status.lastRun.dryRun ? " (dry run)" : ""} (${s.status.lastRun.mode}, ${s.status.lastRun.startedAt}, run ${s.status.lastRun.id})` : "never"}`,
    ...(s.status.overlapping.length
      ? [`  overlaps:    ${s.status.overlapping.map((n) => `"${n}"`).join(", ")} read${s.status.overlapping.length > 1 ? "" : "s"} tenant ${c.tenantId} for some of the same users: a user both sources claim is a conflict neither changes; scope one to groups (\`--users groups --scope-groups …\`) or remove one`]
      : []),
    ...(s.status.awaitingReview ? [`  review:      run ${s.status.awaitingReview} stopped at the deletion threshold: ${suggest(["runs", "show", s.status.awaitingReview], workspace)}, then \`rollcall runs approve\` or \`reject\` it`] : []),
  ].join("\n");
}

/** Sync on change as `sources show` says it: each Graph subscription's state and expiry, or why it could not be made. */
function syncOnChangeText(s: Source): string {
  if (!s.config.syncOnChange && !s.status.subscriptions.length) return "off (`--sync-on-change`: a delta run soon after each change in Entra ID)";
  const each = s.status.subscriptions.map((sub) =>
    sub.state === "active" ? `${sub.resource} subscribed until ${sub.expiresAt}` : sub.state === "pending" ? `${sub.resource} being subscribed` : `${sub.resource} NOT subscribed: [${sub.warning?.code}] ${sub.warning?.message}`);
  return `${s.config.syncOnChange ? "on" : "off"}${each.length ? `; ${each.join("; ")}` : ""}`;
}

/** The zone a source's next run is shown in: its cron expression's; an interval's runs have none, so UTC. */
function scheduleZone(c: Source["config"]): string {
  return c.schedule && "cron" in c.schedule ? (c.schedule.timeZone ?? defaultScheduleZone) : defaultScheduleZone;
}

export function sourcesCommand(): Command {
  const sources = new Command("sources").description("Entra ID sources (Rollcall reads the tenant) and SCIM sources (Entra ID pushes to Rollcall): add, test, try a mapping on one user, change, remove");

  const add = new Command("add").alias("create").description("add a source");
  add.addCommand(
    withSourceFlags(directoryCommand("entra", "add a Microsoft Entra ID source"))
      .requiredOption("--name <name>", "source name (shown on synced users)")
      .action(async (flags: Flags) =>
        runOn(flags, async (directory) => {
          const credential = credentialFromFlags(flags);
          // Every missing flag at once, not one per attempt (the core refuses a source without a credential too, in the API's words).
          const missing = [
            ...(flags.tenantId ? [] : [{ field: "tenantId", message: "give --tenant-id: the directory (tenant) ID, on the app registration's Overview in the Azure portal" }]),
            ...(flags.clientId ? [] : [{ field: "clientId", message: "give --client-id: the application (client) ID, on the same Overview" }]),
            ...(credential ? [] : [{ field: "clientSecret", message: "give --client-secret-env VAR (or --certificate-file and --private-key-file)" }]),
          ];
          if (missing.length || !credential) throw invalidInput(missing);
          return directory.sources.add({ name: String(flags.name), config: configFromFlags(flags), credential });
        }, { human: (s) => `added source ${s.name}\n${describeSource(s, flags.workspace)}\nNext: ${suggest(["sources", "test", s.name], flags.workspace)}, then ${suggest(["sync", s.name], flags.workspace)}` }),
      ),
  );
  add.addCommand(addScimCommand(credentialFromFlags));
  sources.addCommand(add);

  sources.addCommand(
    withSourceFlags(directoryCommand("update", "change a source's settings or secret, or rename it"))
      .argument("<name>", "source name")
      .option("--rename <new-name>", "a new name for the source, shown on its users and groups")
      .option("--name <new-name>", "the same as --rename")
      .option("--new-scim-token", "a SCIM source: issue a new Secret Token (printed once); the one before stops working at once")
      .action(async (name: string, flags: Flags) =>
        runOn(flags, async (directory): Promise<Source | (ScimSource & { token?: string | undefined })> => {
          const rename = renameFlag(flags);
          const scim = await directory.scimSources.find(name);
          if (scim) {
            const given = configFromFlags(flags);
            const entraOnly = Object.keys(given).filter((k) => !scimSettings.has(k));
            return updateScimSource(directory, scim.name, { ...flags, rename }, entraOnly, { signIn: pick(given, scimSignInFlags), credential: credentialFromFlags(flags) });
          }
          if (flags.newScimToken) throw invalidInput([{ field: "newScimToken", message: `"${name}" is not a SCIM source: an Entra ID source's secret is replaced with --client-secret-env` }]);
          return directory.sources.update(name, { config: (current) => configFromFlags(flags, current), credential: credentialFromFlags(flags), rename });
        }, {
          human: (s) => (s.type === "scim"
            ? [`updated SCIM source ${s.name}`, ...(s.token ? tokenLines(s, s.token, flags.workspace) : []), describeScimSource(s)].join("\n")
            : `updated source ${s.name}\n${describeSource(s, flags.workspace)}`),
        }),
      ),
  );

  sources.addCommand(
    directoryCommand("list", "list sources: Entra ID sources, then SCIM sources").action(async (flags: Flags) =>
      runOn(flags, async (directory): Promise<(Source | ScimSource)[]> => [...(await directory.sources.list()), ...(await directory.scimSources.list())], {
        human: (all) => {
          const entra = all.filter((s): s is Source => s.type === "entra");
          const scim = all.filter((s): s is ScimSource => s.type === "scim");
          if (all.length === 0) return `No sources in workspace ${flags.workspace} yet: \`rollcall sources add entra --help\` (Rollcall reads Entra ID) or \`rollcall sources add scim --help\` (Entra ID pushes over SCIM) shows how to add one.`;
          return [
            ...(entra.length ? [table(entra.map((s) => ({ name: s.name, tenant: s.config.tenantId, secret: s.secret.description, users: s.status.syncedUsers, groups: s.status.syncedGroups, lastRun: s.status.lastRun?.status ?? "never", nextRun: s.status.nextRunAt ? wallClock(s.status.nextRunAt, scheduleZone(s.config)) : "" })), ["name", "tenant", "secret", "users", "groups", "lastRun", "nextRun"], "")] : []),
            ...(scim.length ? [table(scim.map((s) => ({ name: s.name, type: "SCIM", tenantUrl: s.tenantUrl, users: s.status.users, groups: s.status.groups, lastRequest: s.status.lastRequestAt ?? "never" })), ["name", "type", "tenantUrl", "users", "groups", "lastRequest"], "")] : []),
          ].join("\n\n");
        },
      }),
    ),
  );

  sources.addCommand(
    directoryCommand("show", "show a source").argument("<name>", "source name").action(async (name: string, flags: Flags) =>
      runOn(flags, async (directory): Promise<Source | ScimSource> => (await directory.scimSources.find(name)) ?? directory.sources.get(name), {
        human: (s) => (s.type === "scim" ? describeScimSource(s) : describeSource(s, flags.workspace)),
      }),
    ),
  );

  sources.addCommand(
    withConfirmation(directoryCommand("remove", "remove a source (asks first on a terminal); its users and groups stay, managed in Rollcall (or --users disable|delete)"))
      .alias("delete")
      .argument("<name>", "source name")
      .addOption(new Option("--users <what>", "what happens to its users and groups: keep them, keep them disabled, or delete them").choices(sourceRemovals).default("keep"))
      .action(async (name: string, flags: Flags & { users: SourceRemoval; yes?: boolean }) =>
        runOn(flags, async (directory) => {
          const scim = await directory.scimSources.find(name);
          await confirm(flags, async () => {
            const [label, count] = scim ? [`SCIM source "${scim.name}"`, `${scim.status.users} provisioned users`] : await directory.sources.get(name).then((s) => [`source "${s.name}"`, `${s.status.syncedUsers} synced users`]);
            const users = { keep: "keep its users and groups, managed in Rollcall from now on", disable: "disable its users and keep its groups", delete: "DELETE its users and groups" }[flags.users];
            return `Remove ${label} (${count}) and ${users}?`;
          });
          return scim ? directory.scimSources.remove(scim.name, flags.users) : directory.sources.remove(name, flags.users);
        }, { human: describeRemoval }),
      ),
  );

  sources.addCommand(
    directoryCommand("test", "check the tenant, the app's credentials and its Graph permissions").argument("<name>", "source name").action(async (name: string, flags: Flags) =>
      runOn(flags, (directory) => directory.sources.test(name), {
        human: (r) => r.checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.name.padEnd(13)} ${c.code && !c.ok && !c.message.startsWith(c.code) ? `[${c.code}] ` : ""}${c.message}`).join("\n"),
        json: (r) => r,
        ok: (r) => r.ok,
      }),
    ),
  );
  sources.addCommand(sourceTryCommand());
  return sources;
}

function describeRemoval(s: RemovedSource | RemovedScimSource): string {
  const { users, usersAffected, groupsAffected } = s.removal;
  const what = `${usersAffected} user${usersAffected === 1 ? "" : "s"} and ${groupsAffected} group${groupsAffected === 1 ? "" : "s"}`;
  const kept = s.removal.usersKept ? `; kept ${s.removal.usersKept} user${s.removal.usersKept === 1 ? "" : "s"} it had linked (added by hand or imported before it), managed in Rollcall from now on` : "";
  if (users === "delete") return `removed source ${s.name} and deleted its ${what}${kept}`;
  return `removed source ${s.name}; its ${what} stay${users === "disable" ? " (users disabled)" : ""}, managed in Rollcall from now on.\n` +
    (s.type === "scim" ? "A SCIM source added later links them again by their email when Entra ID provisions them." : "A source added later for the same tenant takes them back by their Entra object ID.");
}
