import type { Db } from "../storage/database.ts";
import { neutralise } from "../sources/import/formula.ts";
import { actionLabel, changeNotes, changedFields, fieldLabel, joinedGroups } from "../domain/change.ts";
import { allChanges, type ChangeFilter, type ChangeRecord } from "./change-log.ts";
import { csvLine } from "./exports.ts";
import { describeActor } from "../domain/actor.ts";

/** A change log as CSV for auditors and spreadsheets: the same words the console's history uses. */
export const changeCsvColumns = ["time", "by", "change", "subject", "fields", "notes", "run"];

export async function* changesCsv(db: Db, workspaceId: string, filter: ChangeFilter): AsyncGenerator<string> {
  // A BOM makes Excel read the file as UTF-8.
  yield "\uFEFF" + csvLine(changeCsvColumns);
  for await (const page of allChanges(db, workspaceId, filter)) yield page.map(changeLine).join("");
}

function changeLine(change: ChangeRecord): string {
  const fields = changedFields(change).map((f) => `${fieldLabel(f.field)}: ${f.from} → ${f.to}`);
  const groups = joinedGroups(change);
  if (groups.length) fields.push(`Groups: ${groups.join(", ")}`);
  const cells = [change.at, describeActor(change.actor), actionLabel(change.action), change.subject, fields.join("; "), changeNotes(change).join(" "), change.runId ?? ""];
  return csvLine(cells.map(neutralise));
}
