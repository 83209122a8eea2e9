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

const lastWorkspaceKey = "rollcall.workspace";

/** Where the console opens: the workspace this browser used last, if the account still has it; else the first. */
export function landingWorkspace(workspaces: Workspace[]): Workspace | undefined {
  const last = readStorage(lastWorkspaceKey)?.toLowerCase();
  return workspaces.find((w) => w.name.toLowerCase() === last) ?? workspaces[0];
}

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
