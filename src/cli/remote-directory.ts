import { setTimeout as sleep } from "node:timers/promises";
import { RollcallError, type FieldProblem } from "../errors.ts";
import type { ImportProgress, ImportReport } from "../core/imports.ts";
import type { ChangeRecord, DeletedGroup } from "../core/change-log.ts";
import type { Run } from "../core/runs.ts";
import type { ApiToken } from "../core/tokens.ts";
import type { Delivery, Notification } from "../core/notifications.ts";
import type { Source } from "../core/sources.ts";
import type { GroupDetail, GroupWithMembers } from "../domain/group.ts";
import type { User } from "../domain/user.ts";
import type { Credential } from "../sources/entra/token.ts";
import type { RunSummary, SyncProgress } from "../sync/run-record.ts";
import type { ApiClient } from "./api-client.ts";
import { collectPages, cursorPages, unlessNotFound, type Directory, type PageSizes } from "./directory.ts";
import type { ScimSource } from "../core/scim-sources.ts";

/** How often a running sync's progress is read from GET …/runs/{id}. */
const pollMs = 400;

interface Page<T> {
  items: T[];
  total: number;
}

/** A page of a list paged by cursor: `next` is the `after` of the following page, null on the last. */
interface CursorPage<T> extends Page<T> {
  next: string | null;
}

/** The Directory of one workspace on a Rollcall server, through its REST API (see /api/v1/openapi.json). */
export function remoteDirectory(api: ApiClient, workspace: string, pageSizes: PageSizes = { users: 500, changes: 5000 }): Directory {
  const at = (...parts: string[]) => `/workspaces/${[workspace, ...parts].map(encodeURIComponent).join("/")}`;
  const get = <T>(path: string, query?: Record<string, string | number | boolean | undefined>) => api.request<T>("GET", path, query && { query });
  const send = <T>(method: string, path: string, body?: unknown) => api.request<T>(method, path, body === undefined ? {} : { body });

  /**
   * A sync answers at once with the running run; follow it until it ends, as the local runner would report it. Once
   * `signal` aborts (Ctrl-C), the server is asked to stop the run, which is then followed until it has.
   */
  async function follow(started: Run, onProgress: (p: SyncProgress) => void, signal?: AbortSignal): Promise<RunSummary> {
    let run = started;
    let cancelled = false;
    while (run.status === "running") {
      if (signal?.aborted && !cancelled) {
        cancelled = true;
        run = await send<Run>("POST", at("runs", run.id, "cancel")).catch(async (error: unknown) => {
          // It ended meanwhile (409): its own outcome is the answer.
          if (error instanceof RollcallError && error.code === "conflict") return get<Run>(at("runs", run.id));
          throw error;
        });
        continue;
      }
      onProgress({ phase: "starting", users: 0, groups: 0, planned: 0, toPlan: 0, ...(run.progress as Partial<SyncProgress>) });
      await sleep(pollMs, undefined, cancelled || !signal ? {} : { signal }).catch(() => undefined);
      run = await get<Run>(at("runs", run.id));
    }
    return {
      runId: run.id,
      mode: run.mode as RunSummary["mode"],
      status: run.status as RunSummary["status"],
      dryRun: run.dryRun,
      counts: run.counts,
      graphRequests: run.graphRequests,
      graphThrottled: run.graphThrottled,
      ...(run.error && { error: run.error }),
    };
  }

  /** The commit answers only when it is done; meanwhile its progress is read beside it. */
  async function followCommit(uploadId: string, committed: Promise<unknown>, onProgress: (p: ImportProgress) => void): Promise<void> {
    let finished = false;
    const done = committed.then(
      () => (finished = true),
      () => (finished = true),
    );
    while (!finished) {
      await Promise.race([sleep(pollMs), done]);
      if (finished) break;
      // A poll that fails (e.g. the upload just went away after a successful commit) leaves the answer to the commit itself.
      const state = await get<{ committing: boolean; progress: ImportProgress | null }>(at("imports", uploadId, "progress")).catch(() => undefined);
      if (state?.progress && !finished) onProgress(state.progress);
    }
  }

  return {
    users: {
      list(filter, { sort, limit }) {
        let offset: number | undefined; // once the server turns out to be older than cursor paging
        return cursorPages(pageSizes.users, limit ?? Infinity, async (pageLimit, after: string | undefined) => {
          const query = { ...filter, sort, order: "asc", limit: pageLimit };
          if (offset === undefined) {
            try {
              return await get<CursorPage<User>>(at("users"), { ...query, after, count: false });
            } catch (error) {
              if (after !== undefined || !refusesCursor(error)) throw error;
              offset = 0;
            }
          }
          const page = await get<Page<User>>(at("users"), { ...query, offset });
          offset += page.items.length;
          return { items: page.items, next: offset < page.total ? String(offset) : null };
        });
      },
      count: async (filter) => (await get<Page<User>>(at("users"), { ...filter, limit: 1 })).total,
      departments: () => get(at("users", "departments")),
      tags: () => get(at("users", "tags")),
      get: (key) => get(at("users", key)),
      async history(key, limit) {
        // A deleted user's history is kept, and found by the key it had.
        const user = await get<User>(at("users", key)).catch((error: unknown) => {
          if (error instanceof RollcallError && error.code === "not_found") return null;
          throw error;
        });
        const page = await get<Page<ChangeRecord>>(at("users", user?.id ?? key, "changes"), { limit });
        return { user, changes: page.items, total: page.total };
      },
      add: (input) => send("POST", at("users"), input),
      update: (key, input) => send("PATCH", at("users", key), input),
      disable: (key) => send("POST", at("users", key, "disable")),
      remove: (key) => send("DELETE", at("users", key)),
      forget: (key) => send("DELETE", at("users", key, "changes")),
      microsoftLink: (key) => get(at("users", key, "microsoft-link")),
      unlinkMicrosoft: (key) => send("DELETE", at("users", key, "microsoft-link")),
      savePhoto: async (key, out) => {
        const headers = await api.download(at("users", key, "photo"), {}, out);
        return { contentType: headers.get("content-type") ?? "image/jpeg", bytes: Number(headers.get("content-length") ?? 0) };
      },
      setPhoto: (key, path) => api.request("PUT", at("users", key, "photo"), { form: { file: path, part: "photo", fields: {} } }),
      removePhoto: (key) => send("DELETE", at("users", key, "photo")),
      bulk: (request) => send("POST", at("users", "bulk"), request),
      setRole: (key, role) => send("PUT", at("users", key, "role"), { role }),
    },
    groups: {
      // Pages of lean group ids are cheap at any offset; include=members reads each page's members in one statement.
      list: (filter) => collectPages(500, Infinity, async (limit, offset) => (await get<Page<GroupWithMembers>>(at("groups"), { ...filter, sourceType: filter.sourceType?.join(","), include: "members", limit, offset })).items),
      get: (key) => get(at("groups", key), { include: "members" }),
      async history(key, limit) {
        // The heading's group, as the local history gives it: its count, not its members.
        // A deleted group's history is kept, and found by the id or name it had.
        const found = await get<GroupDetail>(at("groups", key)).catch((error: unknown) => {
          if (error instanceof RollcallError && error.code === "not_found") return null;
          throw error;
        });
        const group = found && (({ members: _, memberOf: __, nestedUserCount: ___, ...rest }) => rest)(found);
        const page = await get<Page<ChangeRecord> & { deleted?: DeletedGroup }>(at("groups", group?.id ?? key, "changes"), { limit });
        return { group, ...(page.deleted && { deleted: page.deleted }), changes: page.items, total: page.total };
      },
      add: (input) => send("POST", at("groups"), input),
      update: (key, input) => send("PATCH", at("groups", key), input),
      remove: (key) => send("DELETE", at("groups", key)),
      addMember: (group, member) => send("POST", at("groups", group, "members"), { member }),
      removeMember: (group, member) => send("DELETE", at("groups", group, "members", member)),
    },
    sources: {
      list: async () => (await get<Page<Source>>(at("sources"))).items,
      get: (name) => get(at("sources", name)),
      add: ({ name, config, credential }) => send("POST", at("sources"), { name, ...config, ...credentialBody(credential) }),
      async update(name, { config, credential, rename }) {
        const current = await get<Source>(at("sources", name));
        return send("PATCH", at("sources", name), { ...config(current.config), ...(credential && { ...credentialBody(credential) }), ...(rename !== undefined && { name: rename }) });
      },
      remove: (name, users) => api.request("DELETE", at("sources", name), { query: { users } }),
      test: (name) => send("POST", at("sources", name, "test")),
      tryUser: (name, user) => get(at("sources", name, "try-user"), { user }),
    },
    scimSources: {
      list: async () => (await get<Page<Source> & { scimSources: ScimSource[] }>(at("sources"))).scimSources,
      async find(name) {
        const found = await get<Source | ScimSource>(at("sources", name)).catch(unlessNotFound);
        return found?.type === "scim" ? found : undefined;
      },
      add: ({ name, config, credential }) => send("POST", at("sources"), { type: "scim", name, ...config, ...(credential && credentialBody(credential)) }),
      update: (name, { name: rename, config, newToken, credential }) => send("PATCH", at("sources", name), { ...config, ...(rename !== undefined && { name: rename }), ...(newToken && { newScimToken: true }), ...(credential && credentialBody(credential)) }),
      remove: (name, users) => api.request("DELETE", at("sources", name), { query: { users } }),
    },
    activity: (filter, page) => get(at("activity"), { ...filter, ...page }),
    sync: async (source, options, onProgress, signal) => follow(await send<Run>("POST", at("sources", source, "sync"), options), onProgress, signal),
    runs: {
      list: async ({ source, limit }) => (await get<Page<Run>>(at("runs"), { source, limit })).items,
      async get(id, { action, limit }) {
        const run = await get<Run>(at("runs", id));
        // The API gives at most 5,000 entries a page; a longer --limit reads on by entry (runs show suggests one for the whole log).
        let read = 0;
        let byOffset = false; // a server older than cursor paging
        const changePage = async (size: number, after: string | undefined) => {
          type ChangePage = Page<ChangeRecord> & { actions: Record<string, number> };
          let page: ChangePage | undefined;
          if (!byOffset) {
            // Only the first page's counts are used: the pages after it are not counted again.
            page = await get<ChangePage>(at("runs", id, "changes"), { action, limit: size, after, count: after === undefined ? undefined : false }).catch((error: unknown) => {
              if (!refusesCursor(error)) throw error;
              byOffset = true;
              return undefined;
            });
          }
          page ??= await get<ChangePage>(at("runs", id, "changes"), { action, limit: size, offset: read });
          read += page.items.length;
          return { ...page, next: page.items.length < size ? null : page.items.at(-1)!.id };
        };
        const first = await changePage(Math.min(limit, pageSizes.changes), undefined);
        const wanted = Math.min(limit, first.total);
        async function* changes(): AsyncGenerator<ChangeRecord[]> {
          if (first.items.length) yield first.items;
          if (first.next === null) return;
          yield* cursorPages(pageSizes.changes, wanted - first.items.length, (size, after: string | undefined) => changePage(size, after ?? first.next!));
        }
        return { ...run, changes: changes(), changesTotal: first.total, changesByAction: first.actions };
      },
      approve: async (id, onProgress) => follow(await send<Run>("POST", at("runs", id, "approve")), onProgress),
      reject: (id) => send("POST", at("runs", id, "reject")),
      cancel: (id) => send("POST", at("runs", id, "cancel")),
    },
    async importFile(options) {
      const choices = { source: options.sourceName, sheet: options.sheet, encoding: options.encoding, partial: options.partial, updateExisting: options.updateExisting };
      const discardUpload = (id: string) => api.request("DELETE", at("imports", id)).catch(() => {});
      const upload = await api
        .request<{ id: string; preview: ImportReport }>("POST", at("imports"), {
          form: {
            file: options.path,
            fields: { ...Object.fromEntries(Object.entries(choices).map(([k, v]) => [k, v === undefined ? undefined : String(v)])), mapping: options.mapping === undefined ? undefined : JSON.stringify(options.mapping) },
          },
        })
        .catch(async (error: unknown) => {
          // The server keeps a file whose columns it could not place, for the console to map; a script maps with --mapping.
          const kept = error instanceof RollcallError ? (error.details.upload as { id?: string } | undefined)?.id : undefined;
          if (kept) await discardUpload(kept);
          throw error;
        });
      const discard = () => discardUpload(upload.id);
      if (options.dryRun) {
        await discard();
        return upload.preview;
      }
      const committed = send<ImportReport>("POST", at("imports", upload.id, "commit"), { ...choices, ...(options.mapping !== undefined && { mapping: options.mapping }) });
      try {
        if (options.onProgress) await followCommit(upload.id, committed, options.onProgress);
        return await committed;
      } catch (error) {
        // The server answers a commit that imported nothing (core commitImport) with its report: the report is the
        // answer here, as a local import's is, and the command judges both with importFailed.
        if (error instanceof RollcallError && error.code === "import_invalid" && error.details.report) {
          await discard();
          return error.details.report as ImportReport;
        }
        throw error;
      }
    },
    async exportUsers({ format, out, stream, filter }) {
      const headers = await api.download(at("exports"), { format, ...filter }, stream ?? out);
      const columns = (headers.get("rollcall-columns") ?? "").split(",").filter(Boolean).map(decodeURIComponent);
      return { format, out, users: Number(headers.get("rollcall-users") ?? 0), columns };
    },
    tokens: {
      list: async () => (await get<Page<ApiToken>>(at("tokens"))).items,
      create: (input) => send("POST", at("tokens"), input),
      revoke: (id) => send("DELETE", at("tokens", id)),
    },
    notifications: {
      list: async ({ active }) => (await get<Page<Notification & { deliveries: Delivery[] }>>(at("notifications"), { active, limit: 100 })).items,
      dismiss: (id) => send("POST", at("notifications", id, "dismiss")),
      settings: () => get(at("notification-settings")),
      updateSettings: (change) => send("PUT", at("notification-settings"), change),
      deliveries: async () => (await get<Page<Delivery>>(at("notification-deliveries"), { limit: 200 })).items,
    },
  };
}

/** The API's write-only credential fields. */
function credentialBody(credential: Credential): Record<string, string> {
  return credential.kind === "secret" ? { clientSecret: credential.secret } : { certificatePem: credential.certificatePem, privateKeyPem: credential.privateKeyPem };
}

/**
 * A server older than cursor paging refuses `after` and `count` as unknown fields: the lists are then read on by
 * offset, as they were then, so that a new CLI still reads an older server.
 */
function refusesCursor(error: unknown): boolean {
  if (!(error instanceof RollcallError) || error.code !== "invalid_input") return false;
  const fields = (error.details.fields ?? []) as FieldProblem[];
  return fields.some((f) => (f.field === "after" || f.field === "count") && f.message === "is not a known field");
}
