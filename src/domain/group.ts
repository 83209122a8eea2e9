import { z } from "zod";
import type { UserSource } from "./user.ts";

/** A group as the API and the CLI's --json show it. `members` are user emails (else UPN/display name) and group names. */
export interface Group {
  id: string;
  name: string;
  description: string | null;
  source: UserSource;
  members: string[];
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export const createGroupSchema = z
  .object({
    name: z.string().trim().min(1, "is required").max(256),
    description: z.string().trim().max(1024).nullable().optional(),
  })
  .strict();

export const updateGroupSchema = createGroupSchema.partial().strict();
