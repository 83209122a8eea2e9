/**
 * How a change-log entry reads to a person: its action, the fields it changed (before → after) and what it
 * says in words (a warning's messages, a conflict's reason, why a user was disabled). Shared by the web
 * console's history and `rollcall runs show`, so both tell the same story.
 */
export interface ChangeEntry {
  action: string;
  before: unknown;
  after: unknown;
}

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

/** Keys that are bookkeeping or words, not fields of the user or group. */
const notFields = new Set(["replaces", "updatedAt", "createdAt", "id", "memberCount", "externalId", "changed", "messages", "message", "reason", "managerId"]);

const labels: Record<string, string> = {
  displayName: "Display name",
  givenName: "First name",
  surname: "Last name",
  userPrincipalName: "User principal name",
  mobilePhone: "Mobile phone",
  businessPhones: "Business phones",
  preferredLanguage: "Preferred language",
  jobTitle: "Job title",
  employeeId: "Employee ID",
  cardNumbers: "Card numbers",
  customAttributes: "Custom attributes",
  blockSignIn: "Block sign-in (yes/no)",
  pin: "PIN",
  rollcallId: "Rollcall ID (matches the user)",
  signIn: "Signs in with",
  defaultCountry: "Default country",
  microsoftAccount: "Microsoft account (object ID)",
};

const settingLabels: Record<string, string> = {
  tenantId: "Tenant ID", clientId: "Client ID", users: "User scope", scopeGroups: "User scope groups", groupMode: "Group mode",
  groups: "Synced groups", onRemove: "When a user leaves", linkByEmail: "Link by email", deletionThreshold: "Deletion threshold",
  fullEveryMs: "Full sync every (ms)", signIn: "Sign in with Microsoft", secretExpiresOn: "Secret expires on", credential: "Credential",
};

/** A field's label; a source setting ("config.groupMode") reads "Setting: Group mode", a custom attribute "Custom attribute “site”". */
export function fieldLabel(key: string): string {
  if (key.startsWith("customAttributes.")) return `Custom attribute “${key.slice(17)}”`;
  if (key.startsWith("config.")) {
    const setting = key.slice(7);
    return `Setting: ${settingLabels[setting] ?? setting.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`).replace(/^./, (c) => c.toUpperCase())}`;
  }
  return labels[key] ?? key.charAt(0).toUpperCase() + key.slice(1);
}

export function showValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (Array.isArray(value)) return value.length ? value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ") : "(none)";
  if (typeof value === "object") {
    if ("type" in value && "name" in value) return `${String(value.type)}: ${String(value.name)}`;
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length ? entries.map(([k, v]) => `${k}=${v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ") : "(none)";
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

const asRecord = (value: unknown) => (value && typeof value === "object" ? value : {}) as Record<string, unknown>;

/** Fields compared key by key: a source's settings, as "config.groupMode", and a user's custom attributes, as "customAttributes.site". */
const nestedFields = ["config", "customAttributes"];

function withNested(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (nestedFields.includes(key) && value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) out[`${key}.${k}`] = v;
    } else if (key === "manager" && value && typeof value === "object") {
      // A user snapshot's manager ({id, displayName, email}) reads as a sync's entry names it: "Ada Lovelace <ada@contoso.com>".
      const m = value as { displayName?: unknown; email?: unknown };
      out[key] = `${String(m.displayName ?? "")}${m.email ? ` <${String(m.email)}>` : ""}`;
    } else out[key] = value;
  }
  return out;
}

/** The field a key of withNested belongs to ("customAttributes.site": customAttributes), as a sync's `changed` names it. */
const fieldOf = (key: string) => nestedFields.find((field) => key.startsWith(`${field}.`)) ?? key;

/** What changed between two snapshots, field by field. */
export function diffFields(before: unknown, after: unknown): FieldChange[] {
  const b = withNested(asRecord(before));
  const a = withNested(asRecord(after));
  // A sync's log entry names the fields it changed; show those only (the rest is bookkeeping).
  const changed = Array.isArray(a.changed) ? new Set((a.changed as unknown[]).map(String)) : null;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !notFields.has(k) && (!changed || changed.has(fieldOf(k))));
  return keys.filter((k) => JSON.stringify(b[k] ?? null) !== JSON.stringify(a[k] ?? null)).map((k) => ({ field: k, from: showValue(b[k]), to: showValue(a[k]) }));
}

/** The fields an entry changed; a creation or a deletion lists none (the whole record came or went). */
export function changedFields(change: ChangeEntry): FieldChange[] {
  if (change.action === "create" || change.action === "delete" || change.action === "warning" || change.action === "conflict") return [];
  // A sync's "disable" keeps the whole user before but only `enabled` after: the fields it did not write did not change.
  if (change.action === "disable" && change.after && typeof change.after === "object" && !("changed" in change.after)) {
    const after = asRecord(change.after);
    const before = asRecord(change.before);
    return diffFields(Object.fromEntries(Object.keys(after).map((k) => [k, before[k]])), after);
  }
  return diffFields(change.before, change.after);
}

/** What the entry says in words: a warning's messages, a conflict's reason, why a user was disabled. */
export function changeNotes(change: ChangeEntry): string[] {
  const after = asRecord(change.after);
  const notes = Array.isArray(after.messages) ? after.messages.map(String) : [];
  if (typeof after.message === "string") notes.push(after.message);
  if (typeof after.reason === "string") notes.push(after.reason);
  return notes;
}

/** The groups a created user joined (a sync or an import lists them in the "create" entry). */
export function joinedGroups(change: ChangeEntry): string[] {
  const groups = change.action === "create" ? asRecord(change.after).groups : undefined;
  return Array.isArray(groups) ? groups.map(String) : [];
}

/** The deleted user a sync's "create" entry says the created user replaces: same source, same Entra object ID. */
export interface ReplacedUser {
  id: string;
  deletedAt: string;
  deletedBy: string;
  /** The Entra ID source both came from, by the name it had when the sync created the user. */
  source: string;
}

/** The deleted user a created user replaces (sync/apply.ts logCreatedUsers), or null. */
export function replacedUser(change: ChangeEntry): ReplacedUser | null {
  return change.action === "create" ? replacedOf(change) : null;
}

/** The deleted group a sync's "create group" entry says the created group replaces (sync/apply-groups.ts), or null. */
export function replacedGroup(change: ChangeEntry): ReplacedUser | null {
  return change.action === "create group" ? replacedOf(change) : null;
}

function replacedOf(change: ChangeEntry): ReplacedUser | null {
  const replaces = asRecord(asRecord(change.after).replaces);
  return typeof replaces.id === "string" ? { id: replaces.id, deletedAt: String(replaces.deletedAt), deletedBy: String(replaces.deletedBy), source: String(replaces.source) } : null;
}

/**
 * Membership entries name their group in the action ("add to group Pilots"), as a user's history reads. Browsed
 * by kind, each verb is one kind: a run that changed the members of 300 groups offers two kinds, not 600.
 */
export const membershipKinds = ["add to group", "remove from group"] as const;

export function isMembershipKind(kind: string): boolean {
  return (membershipKinds as readonly string[]).includes(kind);
}

/** The kinds of change a sync run records, as its change log offers them. */
export const runKinds = [
  "create", "update", "link", "disable", "enable", "delete", "unlink", "warning", "conflict", "purge",
  "create group", "update group", "link group", "delete group", "restore group", "add to group", "remove from group", "update photo",
] as const;

/** A run's change filter: one of runKinds, or one membership action exactly ("add to group Pilots"). */
export function isRunAction(action: string): boolean {
  return (runKinds as readonly string[]).includes(action) || membershipKinds.some((kind) => action.startsWith(`${kind} `) && action.length > kind.length + 1);
}

export const runActionMessage = `must be a kind of change: ${runKinds.join(", ")}; or one group's membership changes, e.g. "add to group Pilots"`;

/** The kinds of change made outside sync runs, as the workspace's activity offers them (a run's are read on its page). */
export const activityKinds = [
  "create", "update", "delete", "disable", "enable", "warning", "add to group", "remove from group",
  "create group", "update group", "delete group", "add source", "update source", "remove source", "unlink", "unlink group",
  "create token", "revoke token", "grant access", "change access", "revoke access", "reset password",
  "update workspace", "update notification settings", "forget user", "update photo",
] as const;

/** Every kind of change the log holds: a sync run's and those made outside runs. */
export const changeKinds = [...new Set([...runKinds, ...activityKinds])] as ReadonlyArray<(typeof runKinds)[number] | (typeof activityKinds)[number]>;
export type ChangeKind = (typeof changeKinds)[number];
/** A change's action: its kind, but a membership change names its group ("add to group Pilots"). */
export type ChangeAction = Exclude<ChangeKind, (typeof membershipKinds)[number]> | `${(typeof membershipKinds)[number]} ${string}`;
/** The membership actions' pattern, as the OpenAPI document gives it. */
export const membershipActionPattern = `^(${membershipKinds.join("|")}) .+$`;

/** An activity filter's action: one of activityKinds, or one membership action exactly ("add to group Pilots"). */
export function isActivityAction(action: string): boolean {
  return (activityKinds as readonly string[]).includes(action) || membershipKinds.some((kind) => action.startsWith(`${kind} `) && action.length > kind.length + 1);
}

export const activityActionMessage = `must be a kind of change: ${activityKinds.join(", ")}; or one group's membership changes, e.g. "add to group Pilots"`;

/** The kind of change an action is: the action itself, or a membership verb without its group. */
export function changeKind(action: string): ChangeKind {
  // Every action logged is a ChangeAction (core/change-log.ts types them), so the rest is a kind.
  return membershipKinds.find((kind) => action.startsWith(`${kind} `)) ?? (action as ChangeKind);
}

const actionText: Record<string, string> = {
  create: "Created",
  update: "Updated",
  delete: "Deleted",
  disable: "Disabled",
  enable: "Enabled",
  link: "Linked",
  unlink: "Unlinked",
  warning: "Warning",
  conflict: "Conflict",
  purge: "Deleted for good in Entra ID",
  "add to group": "Added to group",
  "remove from group": "Removed from group",
  "forget user": "Erased the history of deleted user",
  "update photo": "Photo changed",
};

/** An action or a kind in words: "Added to group Pilots", "Added to group". */
export function actionLabel(action: string): string {
  const kind = changeKind(action);
  const text = actionText[kind];
  if (text) return text + action.slice(kind.length);
  return action.replace(/[_.]/g, " ").replace(/^./, (c) => c.toUpperCase());
}
