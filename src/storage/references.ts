import { sql } from "kysely";
import type { Db } from "./database.ts";

/**
 * Runs `write` in `trx` with the reference checks to the `parents` tables skipped (migration 017). Only for
 * statements whose every reference to those tables is to a row this transaction inserted itself: such a row
 * exists, and no other transaction can delete it. A failed `write` aborts the transaction, which drops the setting.
 */
export async function withOwnParents<T>(trx: Db, parents: string[], write: () => Promise<T>): Promise<T> {
  await sql`select set_config('rollcall.own_parents', ${parents.join(",")}, true)`.execute(trx);
  const result = await write();
  await sql`select set_config('rollcall.own_parents', '', true)`.execute(trx);
  return result;
}
