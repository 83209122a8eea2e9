import { timeOrderedId } from "../storage/time-ordered-id.ts";
import { NewUserRows, type EncodedNewUsers, type NewUsersTarget, type WorkspaceGroup } from "../storage/queries/import-new-users.ts";
import type { ColumnMapping } from "../sources/import/mapping.ts";
import type { ImportedUser, ImportProblem } from "../sources/import/row.ts";
import { clashProblem, type ImportReport } from "./import-report.ts";

/** One batch of a first import: its users encoded, and the groups they name that do not exist yet. */
export interface NewUsersBatch {
  rows: EncodedNewUsers;
  newGroups: { id: string; name: string }[];
  created: number;
}

/**
 * The rows of a first import (the workspace held no users when it started, and the file has no PINs to hash):
 * every row the file's own checks let through is a new user, so it is written without staging
 * (storage/queries/import-new-users.ts). Group names are resolved here, as the staged apply resolves them
 * in SQL: an existing group is linked whatever its spelling, a new one takes the first spelling met, and a
 * group synced from Entra ID stops the row.
 */
export class NewUsersBatches {
  private readonly rows: NewUserRows | undefined;
  private newGroups: { id: string; name: string }[] = [];
  private inBatch = 0;
  /** Users added so far. */
  created = 0;
  /** The first `limit` of them, as the report lists them. */
  readonly preview: ImportReport["created"] = [];

  /** `encode`: false for a dry run, which counts the rows and writes none. */
  constructor(
    private readonly target: NewUsersTarget,
    private readonly groups: Map<string, WorkspaceGroup>,
    private readonly mapping: ColumnMapping,
    private readonly limit: number,
    encode: boolean,
  ) {
    this.rows = encode ? new NewUserRows(target) : undefined;
  }

  /** Adds a checked row's user, or returns the problems that stop it. */
  add(user: ImportedUser): ImportProblem[] {
    const names = user.groups ?? [];
    const problems = names.flatMap((name) => {
      const group = this.groups.get(name.toLowerCase());
      if (group?.sourceType !== "entra") return [];
      const clash = { row_no: user.row, field: "groups", value: name, kind: "group", holder_id: group.id, holder_name: group.name, holder_email: null, holder_source_type: group.sourceType, holder_source_name: group.sourceName } as const;
      return [clashProblem(clash, this.mapping, this.target.sourceName)];
    });
    if (problems.length) return problems;
    const groupIds = new Set<string>();
    for (const name of names) {
      let group = this.groups.get(name.toLowerCase());
      if (!group) {
        group = { id: timeOrderedId(), name, sourceType: "import", sourceName: this.target.sourceName };
        this.groups.set(name.toLowerCase(), group);
        this.newGroups.push({ id: group.id, name });
      }
      groupIds.add(group.id);
    }
    this.rows?.add(timeOrderedId(), user, [...groupIds]);
    this.inBatch++;
    if (this.created++ < this.limit) this.preview.push({ row: user.row, email: user.email, userPrincipalName: user.userPrincipalName, displayName: user.displayName });
    return [];
  }

  /** The batch added since the last take. */
  take(): NewUsersBatch {
    const batch = {
      rows: this.rows?.take() ?? { users: [], identifiers: [], memberships: [], changes: [] },
      newGroups: this.newGroups.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1)),
      created: this.inBatch,
    };
    this.newGroups = [];
    this.inBatch = 0;
    return batch;
  }
}
