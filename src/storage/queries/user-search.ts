import { sql, type RawBuilder, type SqlBool } from "kysely";

/**
 * User search: "contains", ignoring case and accents ("jose" finds "José", "strasse" "Straße"), the term taken literally.
 *
 * It reads `users.search_text` (migrations 032 and 037): display name, email, UPN and employee ID joined by a
 * separator and folded once, as they are written, by `rollcall_search_fold` (lower-cased, accents dropped), instead of
 * the four fields of every user folded for every search. The term is folded by the same function, then its LIKE
 * wildcards escaped: folding may turn a character into one (a full-width "％" into "%").
 * Folding the joined fields folds each, so a term without the separator matches the joined text exactly when it
 * matches one of the fields.
 */
const separator = "\x1f";

type UserField = "display_name" | "email" | "user_principal_name" | "employee_id";

const folded = (text: RawBuilder<unknown> | string) => sql<string>`rollcall_search_fold(${text})`;
/** A LIKE pattern matching the folded `q` anywhere, its wildcards and escape (after folding) taken literally. */
const foldedPattern = (q: string) => sql<string>`'%' || replace(replace(replace(${folded(q)}, ${"\\"}, ${"\\\\"}), ${"%"}, ${"\\%"}), ${"_"}, ${"\\_"}) || '%'`;
// LIKE rather than strpos: the planner estimates how many users a LIKE pattern matches (from search_text's
// statistics), and walks users_list_idx for a page of a common term but reads and sorts the few of a rare one.
const contains = (text: RawBuilder<unknown>, q: string) => sql<SqlBool>`${text} like ${foldedPattern(q)}`;
const field = (alias: string, name: UserField) => folded(sql`coalesce(${sql.ref(`${alias}.${name}`)}, '')`);

function anyFieldContains(alias: string, fields: UserField[], q: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.join(fields.map((name) => contains(field(alias, name), q)), sql` or `)})`;
}

/** `column` (a group's name, say) contains `q`, folded as user search folds: for the few rows of a small table. */
export function textContains(column: string, q: string): RawBuilder<SqlBool> {
  return contains(folded(sql.ref(column)), q);
}

/** The user row `alias`'s display name, email, UPN or employee ID contains `q` (the Users page's search). */
export function userContains(alias: string, q: string): RawBuilder<SqlBool> {
  // A term holding the separator could match across two fields of the joined text.
  if (q.includes(separator)) return anyFieldContains(alias, ["display_name", "email", "user_principal_name", "employee_id"], q);
  return contains(sql.ref(`${alias}.search_text`), q);
}

/**
 * The user row `alias`'s display name, email or UPN contains `q` (a group's member search, which leaves the employee
 * ID out): the term is in its search text with a separator after it. The employee ID is the text's last field, the
 * only one no separator follows, and a term without a separator lies within one field. One LIKE, as the users search:
 * folding each matching user's employee ID to rule it out cost 0.1-0.2 s at 96,000 members (BENCHMARKS.md).
 */
export function memberContains(alias: string, q: string): RawBuilder<SqlBool> {
  if (q.includes(separator)) return anyFieldContains(alias, ["display_name", "email", "user_principal_name"], q);
  return sql<SqlBool>`${sql.ref(`${alias}.search_text`)} like (${foldedPattern(q)} || ${separator} || '%')`;
}
