/** The API's shapes. Where the server already has the type, it is imported (type-only) so the two can't drift. */
export type { ListedUser, User, UserDetail, UserSource, SourceType } from "../domain/user.ts";
export type { Group, GroupDetail, GroupMember, GroupWithMembers } from "../domain/group.ts";
export type { MemberPage } from "../core/groups.ts";
import type { Workspace as StoredWorkspace } from "../core/workspaces.ts";
import type { SourceType } from "../domain/user.ts";
export type { ApiToken } from "../core/tokens.ts";
export type { ChangeRecord } from "../core/change-log.ts";

export type Role = "admin" | "viewer";
/** A workspace as `/workspaces` lists it: with the role the signed-in account holds there. */
export type Workspace = StoredWorkspace & { role?: Role };

export interface Account {
  id: string;
  email: string;
  displayName?: string;
  name?: string | null;
  role?: string;
  isOwner?: boolean;
  workspaces?: string[] | null;
  csrfToken?: string;
}

export interface PageOf<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export const systemTags = ["ID synced", "Imported", "Manual"] as const;
/** Whether Entra ID owns a user's or group's fields: synced by a source, or pushed over SCIM (domain/user.ts isSyncedSourceType). */
export const isSyncedSourceType = (type: SourceType): boolean => type === "entra" || type === "scim";
