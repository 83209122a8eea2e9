import { timeOrderedId } from "../storage/time-ordered-id.ts";
import { NewUserRows, type EncodedNewUsers, type NewUsersTarget, type WorkspaceGroup } from "../storage/queries/import-new-users.ts";
import type { ColumnMapping } from "../sources/import/mapping.ts";
import type { ImportedUser, ImportProblem } from "../sources/import/row.ts";
import { clashProblem, unnamedNewUserProblem, type ImportReport } from "./import-report.ts";

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
  /** Groups made up for a name that no added row has named yet (its row had problems): not created unless one does. */
  private readonly unsaved = new Set<string>();
  private readonly bySpelling = new Map<string, WorkspaceGroup>();
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
    if (user.displayName === "") return [unnamedNewUserProblem(user.row, this.mapping)];
    const groupIds: string[] = [];
    const spellings: string[] = [];
    let problems: ImportProblem[] | undefined;
    for (const name of user.groups ?? []) {
      const group = this.group(name);
      if (group.sourceType === "entra" || group.sourceType === "scim") {
        const clash = { row_no: user.row, field: "groups", value: name, kind: "group", holder_id: group.id, holder_name: group.name, holder_email: null, holder_source_type: group.sourceType, holder_source_name: group.sourceName } as const;
        (problems ??= []).push(clashProblem(clash, this.mapping, this.target.sourceName));
      } else if (!groupIds.includes(group.id)) {
        groupIds.push(group.id);
        spellings.push(name);
      }
    }
    if (problems) return problems;
    // A new group takes the spelling of the first row added that names it.
    groupIds.forEach((id, i) => {
      if (!this.unsaved.delete(id)) return;
      this.newGroups.push({ id, name: spellings[i]! });
    });
    this.rows?.add(timeOrderedId(), user, groupIds);
    this.inBatch++;
    if (this.created++ < this.limit) this.preview.push({ row: user.row, email: user.email, userPrincipalName: user.userPrincipalName, displayName: user.displayName });
    return [];
  }

  /**
   * The group `name` stands for: an existing one whatever its spelling, else a new one, created (by take) once a
   * row that names it is added. Looked up by spelling first: files repeat a few names exactly.
   */
  private group(name: string): WorkspaceGroup {
    let group = this.bySpelling.get(name);
    if (group) return group;
    const key = name.toLowerCase();
    group = this.groups.get(key);
    if (!group) {
      group = { id: timeOrderedId(), name, sourceType: "import", sourceName: this.target.sourceName };
      this.groups.set(key, group);
      this.unsaved.add(group.id);
    }
    this.bySpelling.set(name, group);
    return group;
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
