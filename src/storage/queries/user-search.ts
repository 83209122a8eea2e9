import { sql, type RawBuilder, type SqlBool } from "kysely";
import { phoneSearchDigits } from "../../domain/phone.ts";
import { composed, visibleIdentifier } from "../../domain/user.ts";
import type { Db } from "../database.ts";

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

/** The user row `alias`'s display name, email, UPN or employee ID contains `q`. */
function searchTextContains(alias: string, q: string): RawBuilder<SqlBool> {
  // A term holding the separator could match across two fields of the joined text.
  if (q.includes(separator)) return anyFieldContains(alias, ["display_name", "email", "user_principal_name", "employee_id"], q);
  return contains(sql.ref(`${alias}.search_text`), q);
}

/**
 * The Users page's search: the user row `alias`'s display name, email, UPN or employee ID contains `q`, or the user is
 * one of `holders` (those holding `q` as a card number, an alias or in a phone number: searchHolders).
 */
export function userContains(alias: string, q: string, holders: SearchHolders): RawBuilder<SqlBool> {
  const listed = holders.ids.length === 0 ? sql`` : sql` or ${sql.ref(`${alias}.id`)} = any(${holders.ids}::uuid[])`;
  const phones = holders.phoneDigits === null ? sql`` : sql` or ${phoneHolds(alias, holders.phoneDigits)}`;
  return sql<SqlBool>`(${searchTextContains(alias, q)}${listed}${phones})`;
}

/**
 * The users a search term finds beyond names and addresses: `ids`, those holding it whole as a card number or an alias
 * (a help desk reads the number off a badge), and, for a term written as a phone number, those whose mobile or a
 * business phone holds its digits ("07911 123456" finds +447911123456); or, when more than `maxListed` phones hold
 * them, `phoneDigits`, for the search to compare on each user it reads.
 * Found before the search, by user_identifiers' primary key and one read of the users: matched inside the search's
 * query, the planner could not tell how few they are and walked the users in display-name order for a rare term (a
 * page of a card number's search took 360-620 ms instead of 75-100 at 100,000 users), and a "contains" over every
 * identifier made each search 3-6 times slower (BENCHMARKS.md, session 54).
 */
export interface SearchHolders {
  ids: string[];
  phoneDigits: string | null;
}

const maxListed = 500;

export async function searchHolders(db: Db, workspaceId: string, q: string): Promise<SearchHolders> {
  const { cards, aliases } = identifierKeys(q);
  const { rows } = await sql<{ user_id: string }>`select distinct i.user_id from user_identifiers i where i.workspace_id = ${workspaceId}
    and ((i.kind = 'card' and i.key = any(${cards}::text[])) or (i.kind = 'alias' and i.key = any(${aliases}::text[])))`.execute(db);
  const ids = rows.map((r) => r.user_id);
  const digits = phoneSearchDigits(q);
  if (digits === null) return { ids, phoneDigits: null };
  const phones = await sql<{ id: string }>`select u.id from users u where u.workspace_id = ${workspaceId} and ${phoneHolds("u", digits)} limit ${maxListed + 1}`.execute(db);
  if (phones.rows.length > maxListed) return { ids, phoneDigits: digits };
  return { ids: [...new Set([...ids, ...phones.rows.map((r) => r.id)])], phoneDigits: null };
}

const phoneHolds = (alias: string, digits: string) =>
  sql<SqlBool>`(${sql.ref(`${alias}.mobile_phone`)} like ${`%${digits}%`} or array_to_string(${sql.ref(`${alias}.business_phones`)}, ' ') like ${`%${digits}%`})`;

/**
 * The keys a search term may be of a card (stored as given) or an alias (lower-cased): as typed, in either case, and
 * for a card number of digits, with or without the leading zeros a badge or a spreadsheet may leave out ("42117" finds
 * card 0042117, up to 12 digits long).
 */
function identifierKeys(q: string): { cards: string[]; aliases: string[] } {
  const term = composed(visibleIdentifier(q));
  const cards = new Set([term, term.toUpperCase(), term.toLowerCase()]);
  if (/^\d+$/.test(term)) {
    const digits = term.replace(/^0+(?=\d)/, "");
    for (let padded = digits; padded.length <= 12; padded = `0${padded}`) cards.add(padded);
  }
  return { cards: [...cards], aliases: [term.toLowerCase()] };
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
