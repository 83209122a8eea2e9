import { writeFile } from "node:fs/promises";
import { setUserRole, type ConsoleAccess } from "../auth/user-roles.ts";
import { activityPage, type ActivityPage } from "../core/change-log.ts";
import type { WorkspaceContext } from "../core/context.ts";
import { bulkUsers, type BulkRequest } from "../core/bulk-users.ts";
import type { BulkResult } from "../domain/bulk.ts";
import { exportUsers, type ExportOptions, type ExportResult } from "../core/exports.ts";
import { addMember, createGroup, deleteGroup, getGroup, groupHistory, listGroupsWithMembers, removeMember, updateGroup, type GroupHistory } from "../core/groups.ts";
import { runImport, type ImportProgress, type ImportReport } from "../core/imports.ts";
import { cancelRun, listRuns, rejectRun, runWithChangePages, type Run, type RunWithChangePages } from "../core/runs.ts";
import { createEntraSource, getSource, listSources, sourceContext, testSource, updateEntraSource, type Source } from "../core/sources.ts";
import { assertSourceOfEitherKind } from "../core/source-not-found.ts";
import { removeScimSource, removeSource, type RemovedSource, type SourceRemoval } from "../core/source-removal.ts";
import { createScimSource, getScimSource, listScimSources, updateScimSource, type ScimConfig, type ScimSource, type ScimSourceWithToken } from "../core/scim-sources.ts";
import { RollcallError } from "../errors.ts";
import { tryUserMapping, type TriedUser } from "../core/source-try.ts";
import { getMicrosoftLink, unlinkMicrosoftAccount, type MicrosoftLink } from "../core/scim-signin-links.ts";
import { removeUserPhoto, setUserPhoto, userPhoto } from "../core/user-photos.ts";
import { readPhotoFile } from "./photo-file.ts";
import { createUser, deleteUser, disableUser, forgetDeletedUser, listDepartments, showUser, listTags, listUsers, updateUser, userHistory, type SavedUser, type UserHistory } from "../core/users.ts";
import type { Workspace } from "../core/workspaces.ts";
import { createApiToken, listApiTokens, revokeApiToken, type ApiToken } from "../core/tokens.ts";
import { dismissNotification, listDeliveries, listNotifications, type Delivery, type Notification } from "../core/notifications.ts";
import { getNotificationSettings, updateNotificationSettings, type NotificationSettings } from "../core/notification-settings.ts";
import type { GroupDetail, GroupWithMembers } from "../domain/group.ts";
import type { SourceType, User, UserDetail } from "../domain/user.ts";
import type { Runtime } from "../runtime.ts";
import { userPages } from "../core/user-list.ts";
import type { DepartmentCount } from "../storage/queries/users.ts";
import type { TagCount } from "../storage/queries/user-tags.ts";

/** The workspace's departments with how many users each (GET …/users/departments). */
export interface Departments {
  items: DepartmentCount[];
  withoutDepartment: number;
}

/** The workspace's tags with how many users hold each, source tags marked (GET …/users/tags). */
export interface Tags {
  items: TagCount[];
}
import type { Pages } from "./json-stream.ts";
import type { ConnectResult } from "../sources/entra/connect.ts";
import type { EntraConfig, EntraConfigInput } from "../sources/entra/config.ts";
import { parseMappingFile } from "../sources/import/mapping.ts";
import type { Credential } from "../sources/entra/token.ts";
import type { Role } from "../storage/schema.ts";
import type { UserFilter, UserSort } from "../storage/queries/users.ts";
import { approveRun, syncSource } from "../sync/service.ts";
import type { RunSummary, SyncProgress } from "../sync/run-record.ts";

export type { GroupHistory, RunWithChangePages, UserHistory };

/**
 * What the workspace commands of the CLI act on: one workspace's directory. Locally it is the core
 * over the database (below); with --server or ROLLCALL_SERVER it is the server's REST API
 * (remote-directory.ts). Commands parse flags, call this, and print, so both behave the same.
 */
export interface Directory {
  users: {
    /** All matching users, or the first `limit`, a page at a time as they are read. */
    list(filter: UserFilter, options: { sort: UserSort; limit?: number | undefined }): Pages<User>;
    count(filter: UserFilter): Promise<number>;
    /** The workspace's departments with how many users each, and how many users have none. */
    departments(): Promise<Departments>;
    /** The tags the workspace's users hold, with how many users each. */
    tags(): Promise<Tags>;
    /** The user as their own page shows them: nested groups, the change that gave them their status, an open conflict. */
    get(key: string): Promise<UserDetail>;
    /** The user's newest `limit` change-log entries, and how many there are. */
    history(key: string, limit: number): Promise<UserHistory>;
    /** The user, and what the given values lost on the way (`warnings`, e.g. a phone number's extension). */
    add(input: Record<string, unknown>): Promise<SavedUser>;
    update(key: string, input: Record<string, unknown>): Promise<SavedUser>;
    disable(key: string): Promise<User>;
    remove(key: string): Promise<User>;
    /** Erases a deleted user's history. */
    forget(key: string): Promise<{ userId: string; entries: number }>;
    /** The Microsoft account a SCIM source's sign-in pinned to the user, if any. */
    microsoftLink(key: string): Promise<{ userId: string; link: MicrosoftLink | null }>;
    /** Unpins it, keeping the user. */
    unlinkMicrosoft(key: string): Promise<{ userId: string; unlinked: MicrosoftLink }>;
    /** Writes the user's photo to `out` (a file); answers its content type and size. */
    savePhoto(key: string, out: string): Promise<{ contentType: string; bytes: number }>;
    /** Uploads the image file at `path` as the user's photo. */
    setPhoto(key: string, path: string): Promise<{ userId: string; contentType: string; bytes: number; changed: boolean }>;
    removePhoto(key: string): Promise<{ userId: string }>;
    /** Several users at once, all or nothing. */
    bulk(request: BulkRequest): Promise<BulkResult>;
    setRole(key: string, role: ConsoleAccess): Promise<{ userId: string; displayName: string; role: ConsoleAccess }>;
  };
  groups: {
    /** Every matching group with all its direct members (issue #4: `groups list --json` prints them). */
    list(filter: { q?: string | undefined; source?: string | undefined; sourceType?: SourceType[] | undefined }): Promise<GroupWithMembers[]>;
    /** The group with every direct member. */
    get(key: string): Promise<GroupDetail>;
    history(key: string, limit: number): Promise<GroupHistory>;
    /** What changes a group answer: the group with its first members (GET …/groups/{id}). */
    add(input: { name: string; description?: string | undefined }): Promise<GroupDetail>;
    update(key: string, input: { name?: string | undefined; description?: string | null | undefined }): Promise<GroupDetail>;
    remove(key: string): Promise<GroupDetail>;
    addMember(group: string, member: string): Promise<GroupDetail & { added: boolean }>;
    removeMember(group: string, member: string): Promise<GroupDetail>;
  };
  sources: {
    list(): Promise<Source[]>;
    get(name: string): Promise<Source>;
    add(input: { name: string; config: Partial<EntraConfigInput>; credential: Credential }): Promise<Source>;
    /** `config` is computed from the source's current settings (list flags add to what is there). */
    update(name: string, change: { config: (current: EntraConfig) => Partial<EntraConfigInput>; credential?: Credential | undefined; rename?: string | undefined }): Promise<Source>;
    remove(name: string, users: SourceRemoval): Promise<RemovedSource>;
    test(name: string): Promise<ConnectResult>;
    /** What the source's mapping makes of one Entra user (UPN, mail or object ID), nothing stored. */
    tryUser(name: string, user: string): Promise<TriedUser>;
  };
  /** SCIM sources, which Entra ID's provisioning service pushes to: a token is in the answer that issued it only. */
  scimSources: {
    list(): Promise<ScimSource[]>;
    /** The SCIM source of that name or id; undefined when there is none (it may be an Entra ID source's). */
    find(name: string): Promise<ScimSource | undefined>;
    add(input: { name: string; config: Partial<ScimConfig>; credential?: Credential | undefined }): Promise<ScimSourceWithToken>;
    update(name: string, change: { name?: string | undefined; config: Partial<ScimConfig>; newToken: boolean; credential?: Credential | undefined }): Promise<ScimSource & { token?: string | undefined }>;
    remove(name: string, users: SourceRemoval): Promise<RemovedScimSource>;
  };
  /** `signal` ends the run as failed, as a Ctrl-C asks: locally with its reason, through a server as cancelled by the caller. */
  sync(source: string, options: { full: boolean; dryRun: boolean; force: boolean }, onProgress: (p: SyncProgress) => void, signal?: AbortSignal): Promise<RunSummary>;
  activity(filter: { actor?: string | undefined; action?: string | undefined }, page: { limit: number; before?: string | undefined }): Promise<ActivityPage>;
  runs: {
    list(filter: { source?: string | undefined; limit: number }): Promise<Run[]>;
    /** A run with the first `limit` entries of its change log (of one action, if given), read as they are consumed, and how many there are. */
    get(id: string, changes: { action?: string | undefined; limit: number }): Promise<RunWithChangePages>;
    approve(id: string, onProgress: (p: SyncProgress) => void): Promise<RunSummary>;
    reject(id: string): Promise<Run>;
    /** Asks a running run to stop; it fails as cancelled within about a second, in whichever process runs it. */
    cancel(id: string): Promise<Run>;
  };
  importFile(options: ImportFileOptions): Promise<ImportReport>;
  exportUsers(options: ExportOptions): Promise<ExportResult>;
  tokens: {
    list(): Promise<ApiToken[]>;
    /** The answer is the only time the token's value is shown. */
    create(input: { name?: string | undefined; role: Role; expiresInDays?: number | undefined }): Promise<ApiToken & { token: string }>;
    revoke(id: string): Promise<ApiToken>;
  };
  notifications: {
    /** The newest 100, each with its deliveries. */
    list(filter: { active: boolean }): Promise<(Notification & { deliveries: Delivery[] })[]>;
    dismiss(id: string): Promise<Notification>;
    settings(): Promise<NotificationSettings & { smtpConfigured: boolean }>;
    /** `webhookSecret`: the new signing secret, only when one was made. */
    updateSettings(change: NotificationSettingsChange): Promise<NotificationSettings & { webhookSecret: string | null; smtpConfigured: boolean }>;
    /** The newest 200 e-mail and webhook attempts. */
    deliveries(): Promise<Delivery[]>;
  };
}

export interface NotificationSettingsChange {
  emailTo?: string[] | undefined;
  webhookUrl?: string | null | undefined;
  rotateWebhookSecret?: boolean | undefined;
}

export interface ImportFileOptions {
  path: string;
  fileName: string;
  sourceName?: string | undefined;
  sheet?: string | undefined;
  /** A CSV file's text encoding (default: detected). */
  encoding?: string | undefined;
  /** The mapping file's JSON, as read (checked by whoever runs the import). */
  mapping?: unknown;
  dryRun: boolean;
  partial: boolean;
  updateExisting: boolean;
  onProgress?: ((p: ImportProgress) => void) | undefined;
}

/** How many users or change-log entries the CLI reads at a time: locally, and through a server (at most what its API gives a page). */
export interface PageSizes {
  users: number;
  changes: number;
}

/**
 * The pages of a list read by cursor until it has given `wanted` items or ends: `page` answers at most `limit` items
 * after `cursor` (undefined: from the start) and the cursor of the following page (null: there is none).
 */
export async function* cursorPages<T, C>(pageSize: number, wanted: number, page: (limit: number, cursor: C | undefined) => Promise<{ items: T[]; next: C | null }>): AsyncGenerator<T[]> {
  let cursor: C | undefined;
  for (let left = wanted; left > 0; ) {
    const { items, next } = await page(Math.min(pageSize, left), cursor);
    if (items.length) yield items;
    if (next === null || items.length === 0) return;
    left -= items.length;
    cursor = next;
  }
}

/** Reads a list page by page until it has `wanted` items or the list ends. */
/** A removed SCIM source, with what became of its users and groups. */
export type RemovedScimSource = ScimSource & { removal: RemovedSource["removal"] };

/**
 * The server's URL as the local CLI tells it in a SCIM source's Tenant URL: ROLLCALL_PUBLIC_URL (what Entra ID's
 * provisioning service must reach, over HTTPS), else the address `rollcall serve` listens on here.
 */
export function localBaseUrl(config: Runtime["config"]): string {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  return config.publicUrl ?? `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
}

/** undefined for a not-found error (the look-up found nothing), the error itself otherwise. */
export function unlessNotFound(error: unknown): undefined {
  if (error instanceof RollcallError && error.code === "not_found") return undefined;
  throw error;
}

export async function collectPages<T>(pageSize: number, wanted: number, page: (limit: number, offset: number) => Promise<T[]>): Promise<T[]> {
  const all: T[] = [];
  while (all.length < wanted) {
    const limit = Math.min(pageSize, wanted - all.length);
    const items = await page(limit, all.length);
    all.push(...items);
    if (items.length < limit) break;
  }
  return all;
}

export function localDirectory(rt: Runtime, ctx: WorkspaceContext & { workspace: Workspace }, pageSizes: PageSizes = { users: 1000, changes: 2000 }): Directory {
  const sourceCtx = sourceContext(rt, ctx);
  return {
    users: {
      list: (filter, { sort, limit }) => userPages(ctx, filter, { sort, order: "asc", limit, pageSize: pageSizes.users }),
      count: async (filter) => (await listUsers(ctx, filter, { limit: 1, offset: 0, sort: "displayName", order: "asc" })).total,
      departments: () => listDepartments(ctx),
      tags: () => listTags(ctx),
      get: (key) => showUser(ctx, key),
      history: (key, limit) => userHistory(ctx, key, { limit }),
      add: (input) => createUser(ctx, input),
      update: (key, input) => updateUser(ctx, key, input),
      disable: (key) => disableUser(ctx, key),
      remove: (key) => deleteUser(ctx, key),
      forget: (key) => forgetDeletedUser(ctx, key),
      microsoftLink: (key) => getMicrosoftLink(ctx, key),
      unlinkMicrosoft: (key) => unlinkMicrosoftAccount(ctx, key),
      savePhoto: async (key, out) => {
        const photo = await userPhoto(ctx, key);
        await writeFile(out, photo.bytes);
        return { contentType: photo.contentType, bytes: photo.bytes.length };
      },
      setPhoto: async (key, path) => setUserPhoto(ctx, key, await readPhotoFile(path)),
      removePhoto: (key) => removeUserPhoto(ctx, key),
      bulk: (request) => bulkUsers(ctx, request),
      setRole: (key, role) => setUserRole(ctx.db, ctx.workspace, key, role, ctx.actor),
    },
    groups: {
      // Every group and every member in two statements: paging 5,000 groups by OFFSET, each page building its members, never finished.
      list: async (filter) => (await listGroupsWithMembers(ctx, filter, { limit: null, offset: 0 })).items,
      get: (key) => getGroup(ctx, key),
      history: (key, limit) => groupHistory(ctx, key, { limit }),
      add: (input) => createGroup(ctx, input),
      update: (key, input) => updateGroup(ctx, key, input),
      remove: (key) => deleteGroup(ctx, key),
      addMember: (group, member) => addMember(ctx, group, member),
      removeMember: (group, member) => removeMember(ctx, group, member),
    },
    sources: {
      list: () => listSources(ctx),
      // show, update and remove look a SCIM source up first: a name that is neither kind's is refused naming both.
      get: async (name) => (await assertSourceOfEitherKind(ctx, name), getSource(ctx, name)),
      add: ({ name, config, credential }) => createEntraSource(sourceCtx, { name, config: config as EntraConfigInput, credential }),
      async update(name, { config, credential, rename }) {
        await assertSourceOfEitherKind(ctx, name);
        const current = await getSource(ctx, name);
        return updateEntraSource(sourceCtx, name, { name: rename, config: config(current.config), ...(credential && { credential }) });
      },
      remove: async (name, users) => (await assertSourceOfEitherKind(ctx, name), removeSource(sourceCtx, name, users)),
      test: (name) => testSource(sourceCtx, name),
      tryUser: (name, user) => tryUserMapping(sourceCtx, name, user),
    },
    scimSources: {
      list: () => listScimSources(ctx, localBaseUrl(rt.config)),
      find: (name) => getScimSource(ctx, name, localBaseUrl(rt.config)).catch(unlessNotFound),
      add: ({ name, config, credential }) => createScimSource(sourceCtx, { name, config, credential }, localBaseUrl(rt.config)),
      update: (name, { name: rename, config, newToken, credential }) => updateScimSource(sourceCtx, name, { name: rename, config, newToken, credential }, localBaseUrl(rt.config)),
      remove: async (name, users) => removeScimSource(ctx, await getScimSource(ctx, name, localBaseUrl(rt.config)), users),
    },
    activity: (filter, page) => activityPage(ctx.db, ctx.workspace.id, filter, page),
    sync: (source, options, onProgress, signal) => syncSource(rt, ctx.workspace, source, { trigger: "manual", ...options, actor: ctx.actor }, { onProgress, ...(signal && { signal }) }),
    runs: {
      list: (filter) => listRuns(ctx, filter),
      get: (id, changes) => runWithChangePages(ctx, id, { ...changes, pageSize: pageSizes.changes }),
      approve: (id, onProgress) => approveRun(rt, ctx.workspace, id, ctx.actor, { onProgress }),
      reject: (id) => rejectRun(ctx, id),
      cancel: (id) => cancelRun(ctx, id),
    },
    importFile: ({ mapping, ...options }) => runImport(ctx, rt.store, { ...options, mapping: mapping === undefined ? undefined : parseMappingFile(mapping) }),
    exportUsers: (options) => exportUsers(ctx, options),
    tokens: {
      list: () => listApiTokens(ctx.db, ctx.workspace),
      create: (input) => createApiToken(ctx.db, ctx.workspace, input, ctx.actor),
      revoke: (id) => revokeApiToken(ctx.db, ctx.workspace, id, ctx.actor),
    },
    notifications: {
      list: ({ active }) => listNotifications(ctx.db, ctx.workspace, { active, limit: 100 }),
      dismiss: (id) => dismissNotification(ctx.db, ctx.workspace, id, ctx.actor),
      settings: async () => ({ ...(await getNotificationSettings(ctx.db, ctx.workspace)), smtpConfigured: Boolean(rt.config.smtpUrl) }),
      updateSettings: async (change) => ({
        ...(await updateNotificationSettings(ctx.db, rt.secrets, ctx.workspace, change, ctx.actor, { webhookPrivateNetwork: rt.config.webhookPrivateNetwork })),
        smtpConfigured: Boolean(rt.config.smtpUrl),
      }),
      deliveries: () => listDeliveries(ctx.db, ctx.workspace, 200),
    },
  };
}
