import { z } from "zod";
import type { UserSource } from "./user.ts";

/** A group's own row: what looking it up by id or name needs (a rule, a name check, a version), without counting anything. */
export interface GroupRecord {
  id: string;
  name: string;
  description: string | null;
  source: UserSource;
  createdAt: string;
  updatedAt: string;
}

/**
 * A group as lists show it: how many direct members it has, not who they are (a group may hold the whole tenant:
 * its members are read a page at a time, as GroupMember).
 */
export interface Group extends GroupRecord {
  memberCount: number;
}

/** A group with its direct members' labels: user emails (else UPN, else display name) and group names, sorted. */
export interface GroupWithMembers extends Group {
  members: string[];
}

/** One direct member of a group, as GET …/groups/{id}/members pages them. */
export interface GroupMember {
  id: string;
  kind: "user" | "group";
  /** A user's display name; a group's name. */
  displayName: string;
  /** A user's email; null for a user without one, and for a group. */
  email: string | null;
}

/**
 * How many members a group's single answer (GET, and what changing it answers) lists at most, unless asked for all
 * (`include=members`): the rest are a page at a time from …/members. Enough for most groups to read as they did.
 */
export const membersShownCap = 100;

export const createGroupSchema = z
  .object({
    name: z.string().trim().min(1, "is required").max(256),
    description: z.string().trim().max(1024).nullable().optional(),
  })
  .strict();

export const updateGroupSchema = createGroupSchema.partial().strict();
