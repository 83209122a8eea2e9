import type { ChangeRecord } from "../core/change-log.ts";
import { actionLabel, changeNotes, changedFields, fieldLabel, joinedGroups, replacedGroup, replacedUser } from "../domain/change.ts";
import { joinList } from "../domain/list-cell.ts";
import { changeActor, describeActor } from "../domain/actor.ts";

/**
 * What a change-log entry says, a line each, under its heading: the deleted user or group a created one replaces, notes
 * (warnings, reasons), fields before → after, groups joined.
 */
export function changeDetails(c: ChangeRecord, indent: string): string[] {
  const groups = joinedGroups(c);
  const replaced = replacedUser(c);
  const replacedG = replacedGroup(c);
  return [
    ...(replaced ? [`${indent}replaces deleted user ${replaced.id}, deleted ${replaced.deletedAt} by ${describeActor(replaced.deletedBy)}; their history: rollcall users history ${replaced.id}`] : []),
    ...(replacedG ? [`${indent}replaces deleted group ${replacedG.id} (the same Entra group), deleted ${replacedG.deletedAt} by ${describeActor(replacedG.deletedBy)}`] : []),
    ...changeNotes(c).map((note) => `${indent}${note}`),
    ...changedFields(c).map((f) => `${indent}${fieldLabel(f.field)}: ${f.from} → ${f.to}`),
    ...(groups.length ? [`${indent}groups: ${joinList(groups)}`] : []),
  ];
}

/** A user's or a group's history, newest first: a heading, then each entry (`withSubject`: whom it is about). */
export function historyText(heading: string, { changes, total }: { changes: ChangeRecord[]; total: number }, withSubject = false): string {
  const lines = [`${heading}: ${total} change(s)${total > changes.length ? `, the newest ${changes.length} (--limit for more)` : ""}, newest first`];
  for (const c of changes) {
    lines.push(`  ${c.at}  ${actionLabel(c.action)}${withSubject ? `: ${c.subject}` : ""} by ${changeActor(c)}${c.runId ? ` (run ${c.runId})` : ""}`, ...changeDetails(c, "      "));
  }
  return lines.join("\n");
}
