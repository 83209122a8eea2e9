import { createContext, useContext, type ReactNode } from "react";
import type { Account, Workspace } from "./types.ts";

export interface Session {
  account: Account;
  workspaces: Workspace[];
  /** The workspace in the URL, if the URL names one that exists. */
  workspace: Workspace | undefined;
  reloadWorkspaces: () => Promise<Workspace[]>;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

/** The current workspace's name; pages under /w/:ws only render when it exists. */
export function useWorkspaceName(): string {
  const session = useSession();
  return session.workspace!.name;
}

export const wsPath = (workspace: string, rest = "") => `/w/${encodeURIComponent(workspace)}${rest}`;

// Not "rollcall.workspace", which also kept the workspace the console had opened on its own (the first, often an empty
// "default"): a browser that had it would go on opening there.
const lastWorkspaceKey = "rollcall.chosenWorkspace";

/** The workspace this browser used last, if the account still has it. */
export function rememberedWorkspace(workspaces: Workspace[]): Workspace | undefined {
  const last = readStorage(lastWorkspaceKey)?.toLowerCase();
  return workspaces.find((w) => w.name.toLowerCase() === last);
}

/** What the landing weighs of a workspace (GET /workspace-overview): its users and its sources. */
export interface WorkspaceContents {
  name: string;
  users: number;
  sources: unknown[];
  scimSources: unknown[];
}

/**
 * Where the console opens when the address names no workspace: the one this browser used last; else the only one; else,
 * by what they hold (`contents`), the one with the most users, then the most sources, so that an empty "default"
 * never wins over the demo's workspace; else the first.
 */
export function landingWorkspace(workspaces: Workspace[], contents?: WorkspaceContents[]): Workspace | undefined {
  const remembered = rememberedWorkspace(workspaces);
  if (remembered || workspaces.length < 2 || !contents) return remembered ?? workspaces[0];
  const held = new Map(contents.map((c) => [c.name.toLowerCase(), c]));
  const weight = (w: Workspace) => {
    const c = held.get(w.name.toLowerCase());
    return c ? [c.users, c.sources.length + c.scimSources.length] : [0, 0];
  };
  // A stable sort: between equals, the list's own order (by name).
  return [...workspaces].sort((a, b) => {
    const [x, y] = [weight(a), weight(b)];
    return y[0]! - x[0]! || y[1]! - x[1]!;
  })[0];
}

/** Only a workspace the admin went to: the one the console opened on its own is worked out again next time. */
export function rememberWorkspace(name: string): void {
  try {
    localStorage.setItem(lastWorkspaceKey, name);
  } catch {
    // Storage can be disabled (private windows, policies): the console then opens the first workspace.
  }
}

function readStorage(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/**
 * Whether the signed-in account may change the current workspace. Viewers (read-only role) only read:
 * the server refuses their changes with 403, so the console does not offer them.
 */
export function useCanChange(): boolean {
  return useSession().workspace?.role === "admin";
}

/** Renders its children only for those who may change the current workspace. */
export function AdminOnly({ children }: { children: ReactNode }) {
  return useCanChange() ? <>{children}</> : null;
}
