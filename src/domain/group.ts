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

/** A group on its own (GET …/groups/{id}, `groups show`, and what changing it answers): lists leave out its nested count. */
export interface GroupDetail extends GroupWithMembers {
  /** Distinct users at any depth: its direct users and those of the groups nested in it, each once. */
  nestedUserCount: number;
}

/** A group a user is in only through nesting, as the user's own page lists it (Entra ID's transitiveMemberOf, less `groups`). */
export interface NestedGroup {
  name: string;
  /** The user's own groups (of their `groups`) that this one holds, directly or through other groups, sorted. */
  through: string[];
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
 * a group is named by id or name wherever it is asked for. The same rules for a name typed here and one in an
 * imported file's groups cell (groupNameProblem).
 */
const groupNameRules: { breaks: (name: string) => boolean; message: string }[] = [
  { breaks: (name) => /\p{Cc}/u.test(name), message: "must be on one line, without tabs or other control characters" },
  { breaks: (name) => !/[^\p{Cf}\p{Z}]/u.test(name), message: "must hold a visible character" },
  { breaks: isGuid, message: "cannot be an id: groups are looked up by id or name, and this would read as an id; add a word to it" },
];

export const maxGroupNameLength = 256;

/** What is wrong with a group's name, trimmed and composed (NFC) as it is stored, by the rules above; undefined for a good one. Pure. */
export function groupNameProblem(name: string): string | undefined {
  if (name.length > maxGroupNameLength) return `is longer than ${maxGroupNameLength} characters`;
  return groupNameRules.find((rule) => rule.breaks(name))?.message;
}

const groupName = groupNameRules
  .reduce(
    (schema, rule) => schema.refine((name) => !rule.breaks(name), rule.message),
    z.string().trim().normalize("NFC").min(1, { message: "is required", abort: true }).max(maxGroupNameLength, { abort: true }),
  )
  .describe("unique in the workspace without case; one line, composed (NFC), not an id");

export const createGroupSchema = z
  .object({
    name: groupName,
    description: z.string().trim().max(1024).nullable().optional(),
  })
  .strict();

export const updateGroupSchema = createGroupSchema.partial().strict();
