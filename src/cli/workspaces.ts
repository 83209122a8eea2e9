import { createWorkspace, deleteWorkspace, listWorkspaces, resolveWorkspace, updateWorkspace, type Workspace } from "../core/workspaces.ts";
import { workspaceOverview, type WorkspaceOverview } from "../core/workspace-overview.ts";
import type { Runtime } from "../runtime.ts";
import { entraFetch } from "../sources/entra/custom-urls.ts";
import { localActor } from "./local-actor.ts";
import type { ApiClient } from "./api-client.ts";

/**
 * What `rollcall workspaces` acts on: every workspace of this machine's database, or, through a server, those the
 * caller may use (with their role there). Like Directory, one interface for both, so the commands behave the same.
 */
export interface Workspaces {
  list(): Promise<Workspace[]>;
  /** Each workspace's users, notifications and sources' run state, those needing attention first. */
  overview(): Promise<WorkspaceOverview[]>;
  get(key: string): Promise<Workspace>;
  add(input: { name: string; defaultCountry?: string | null | undefined }): Promise<Workspace>;
  update(key: string, change: { defaultCountry?: string | null | undefined }): Promise<Workspace>;
  remove(workspace: Workspace): Promise<void>;
}

export function localWorkspaces(rt: Runtime, actor = localActor()): Workspaces {
  const db = rt.store.db;
  return {
    list: () => listWorkspaces(db),
    // On this machine's database the CLI may do anything in every workspace: admin in each.
    overview: async () => workspaceOverview(db, (await listWorkspaces(db)).map((w) => ({ ...w, role: "admin" as const }))),
    get: (key) => resolveWorkspace(db, key),
    add: (input) => createWorkspace(db, input),
    update: async (key, change) => updateWorkspace(db, await resolveWorkspace(db, key), change, actor),
    remove: (workspace) => deleteWorkspace(db, workspace, { secrets: rt.secrets, fetch: entraFetch(rt.config) }),
  };
}

export function remoteWorkspaces(api: ApiClient): Workspaces {
  const at = (key: string) => `/workspaces/${encodeURIComponent(key)}`;
  return {
    list: async () => (await api.request<{ items: Workspace[] }>("GET", "/workspaces")).items,
    overview: async () => (await api.request<{ items: WorkspaceOverview[] }>("GET", "/workspace-overview")).items,
    get: (key) => api.request("GET", at(key)),
    add: (input) => api.request("POST", "/workspaces", { body: input }),
    update: (key, change) => api.request("PATCH", at(key), { body: change }),
    remove: async (workspace) => void (await api.request("DELETE", at(workspace.id))),
  };
}
