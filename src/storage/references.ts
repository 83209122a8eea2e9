import { sql } from "kysely";
import type { Db } from "./database.ts";

/**
 * Runs `write` in `trx` with the reference checks to `users` skipped (migration 017). Only for statements whose
 * every user is one this transaction inserted itself: such a user exists, and no other transaction can delete
 * it. A failed `write` aborts the transaction, which drops the setting.
 */
export async function withOwnUsers<T>(trx: Db, write: () => Promise<T>): Promise<T> {
  await sql`select set_config('rollcall.own_users', 'on', true)`.execute(trx);
  const result = await write();
  await sql`select set_config('rollcall.own_users', 'off', true)`.execute(trx);
  return result;
}
