import { sql, type RawBuilder, type SqlBool } from "kysely";

/**
 * User search: "contains", case-insensitive, with LIKE's wildcards in the term taken literally.
 *
 * It reads `users.search_text` (migration 032): display name, email, UPN and employee ID joined by a separator and
 * lower-cased once, as they are written, instead of the four fields of every user lower-cased for every search.
 * `lower(text) LIKE lower(pattern)` is what ILIKE does, and lower-casing the joined fields lower-cases each, so a term
 * without the separator matches the joined text exactly when it matches one of the fields.
 */
const separator = "\x1f";

type UserField = "display_name" | "email" | "user_principal_name" | "employee_id";

/** A LIKE pattern matching `text` anywhere, with LIKE's own wildcards in it (and its escape) taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function anyFieldContains(alias: string, fields: UserField[], pattern: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.join(fields.map((field) => sql`${sql.ref(`${alias}.${field}`)} ilike ${pattern}`), sql` or `)})`;
}

/** The user row `alias`'s display name, email, UPN or employee ID contains `q` (the Users page's search). */
export function userContains(alias: string, q: string): RawBuilder<SqlBool> {
  const pattern = containsPattern(q);
  // A term holding the separator could match across two fields of the joined text.
  if (q.includes(separator)) return anyFieldContains(alias, ["display_name", "email", "user_principal_name", "employee_id"], pattern);
  return sql<SqlBool>`${sql.ref(`${alias}.search_text`)} like lower(${pattern})`;
}

/**
 * The user row `alias`'s display name, email or UPN contains `q` (a group's member search, which leaves the employee
 * ID out): its search text matches, and not by the employee ID alone. The three fields are compared only for the few
 * users whose employee ID matches.
 */
export function memberContains(alias: string, q: string): RawBuilder<SqlBool> {
  const pattern = containsPattern(q);
  const fields: UserField[] = ["display_name", "email", "user_principal_name"];
  if (q.includes(separator)) return anyFieldContains(alias, fields, pattern);
  const employeeId = sql`coalesce(${sql.ref(`${alias}.employee_id`)}, '') ilike ${pattern}`;
  return sql<SqlBool>`(${userContains(alias, q)} and not (${employeeId} and not ${anyFieldContains(alias, fields, pattern)}))`;
}
