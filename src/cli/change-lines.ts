import type { ChangeRecord } from "../core/change-log.ts";
import { changeNotes, changedFields, fieldLabel, joinedGroups } from "../domain/change.ts";

/** What a change-log entry says, a line each, under its heading: notes (warnings, reasons), fields before → after, groups joined. */
export function changeDetails(c: ChangeRecord, indent: string): string[] {
  const groups = joinedGroups(c);
  return [
    ...changeNotes(c).map((note) => `${indent}${note}`),
    ...changedFields(c).map((f) => `${indent}${fieldLabel(f.field)}: ${f.from} → ${f.to}`),
    ...(groups.length ? [`${indent}groups: ${groups.join(", ")}`] : []),
  ];
}
