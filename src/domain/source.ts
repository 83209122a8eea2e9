/**
 * Where a user or group came from, in words. A removed Entra ID source leaves its users and groups managed
 * in Rollcall (type `manual`) but keeping the source's name and their Entra object ID (core/source-removal.ts).
 */
export interface SourceOfRecord {
  type: "manual" | "import" | "entra" | "scim";
  name: string;
  externalId: string | null;
}

/** The Entra ID source a manual user or group was kept from (removed, or it left that source's scope under on-remove keep), or null. */
export const keptFrom = (source: SourceOfRecord): string | null => (source.type === "manual" && source.externalId !== null ? source.name : null);

/** A source in a table cell: its name, or "kept from NAME" for one a user or group was kept from. */
export const sourceCell = (source: SourceOfRecord): string => (keptFrom(source) ? `kept from ${source.name}` : source.name);

/**
 * Whole days until a secret expiring on `expiresOn` (YYYY-MM-DD, UTC) stops working, counted up: 1 all the day
 * before, 0 or less from that day on (expired). The one count the source, its notifications and the console show.
 */
export function secretDaysLeft(expiresOn: string, now: Date): number {
  return Math.ceil((Date.parse(`${expiresOn}T00:00:00Z`) - now.getTime()) / 86_400_000);
}

/** How pressing a secret's expiry is `daysLeft` days ahead (expired included): as its notifications and the workspaces' overview say. */
export function secretUrgency(daysLeft: number): "critical" | "warning" | null {
  return daysLeft <= 7 ? "critical" : daysLeft <= 30 ? "warning" : null;
}

/**
 * Entra ID's provisioning service calls a SCIM source every cycle (about every 40 minutes): one silent for longer than
 * this since its last request, or never called this long after it was added, is quiet, as the README's RollcallScimQuiet
 * alert says it.
 */
export const scimQuietAfterHours = 3;

/** A quiet SCIM source: silent since `since` (its last request, or when it was added if never called), for whole `hours`. */
export interface ScimQuiet {
  since: string;
  neverCalled: boolean;
  hours: number;
}

export function scimQuiet(source: { createdAt: string; lastRequestAt: string | null }, now: Date): ScimQuiet | null {
  const since = source.lastRequestAt ?? source.createdAt;
  const silentMs = now.getTime() - Date.parse(since);
  if (silentMs <= scimQuietAfterHours * 3_600_000) return null;
  return { since, neverCalled: source.lastRequestAt === null, hours: Math.floor(silentMs / 3_600_000) };
}

/** A quiet SCIM source in words, after its name: the workspaces' overview gives it as a reason. */
export function scimQuietText(quiet: ScimQuiet): string {
  const when = `${quiet.since.slice(0, 16).replace("T", " ")} UTC`;
  return quiet.neverCalled
    ? `Entra ID's provisioning service has never called it (added ${quiet.hours} hours ago, ${when})`
    : `Entra ID's provisioning service has not called for ${quiet.hours} hours (last request ${when})`;
}
