import { z } from "zod";
import type { UserSource } from "./user.ts";
import { isGuid } from "./guid.ts";

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
  /** The names of the groups this one is a direct member of, sorted: it leaves them when it is deleted. */
  memberOf: string[];
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

/**
 * A group's name as a person types it: composed (NFC), so that a "Café" pasted from a Mac is the group typed here, an
 * import names and a filter finds; on one line, since lists, files and the CLI show it on one; and not an id, since
 * a group is named by id or name wherever it is asked for.
 */
const groupName = z
  .string()
  .trim()
  .normalize("NFC")
  .min(1, { message: "is required", abort: true })
  .max(256, { abort: true })
  .refine((name) => !/\p{Cc}/u.test(name), "must be on one line, without tabs or other control characters")
  .refine((name) => /[^\p{Cf}\p{Z}]/u.test(name), "must hold a visible character")
  .refine((name) => !isGuid(name), "cannot be an id: groups are looked up by id or name, and this would read as an id; add a word to it")
  .describe("unique in the workspace without case; one line, composed (NFC), not an id");

export const createGroupSchema = z
  .object({
    name: groupName,
    description: z.string().trim().max(1024).nullable().optional(),
  })
  .strict();

export const updateGroupSchema = createGroupSchema.partial().strict();
