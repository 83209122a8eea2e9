import { createContext, useContext } from "react";
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
