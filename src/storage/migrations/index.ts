import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import * as m001 from "./001_directory.ts";
import * as m002 from "./002_sync.ts";
import * as m003 from "./003_import.ts";
import * as m005 from "./005_signin_notifications.ts";
import * as m006 from "./006_sync_dirty_groups.ts";
import * as m007 from "./007_import_write_cost.ts";
import * as m008 from "./008_sync_departed_users.ts";
import * as m009 from "./009_statement_references.ts";
import * as m010 from "./010_time_ordered_ids.ts";
import * as m011 from "./011_sync_dirty_users.ts";
import * as m012 from "./012_reference_checks_by_key.ts";
import * as m013 from "./013_unlogged_sync_staging.ts";
import * as m014 from "./014_import_staging_one_index.ts";
import * as m015 from "./015_sync_members_staged_by_group.ts";
import * as m016 from "./016_change_log_json.ts";
import * as m017 from "./017_references_to_own_rows.ts";
import * as m018 from "./018_removed_source_users_managed.ts";
import * as m019 from "./019_change_log_by_group.ts";
import * as m020 from "./020_sync_run_cancel.ts";
import * as m021 from "./021_sync_dirty_versions.ts";
import * as m022 from "./022_sessions_end_on_disable.ts";
import * as m023 from "./023_names_sort_alphabetically.ts";
import * as m024 from "./024_rate_limits.ts";
import * as m025 from "./025_import_uploads.ts";
import * as m026 from "./026_microsoft_logout_hint.ts";
import * as m027 from "./027_import_upload_committed.ts";
import * as m028 from "./028_api_token_expiry.ts";
import * as m029 from "./029_access_and_sign_out.ts";
import * as m030 from "./030_change_log_activity.ts";
import * as m031 from "./031_sync_restorable_users.ts";
import * as m032 from "./032_user_search_text.ts";
import * as m035 from "./035_dry_run_changes_discarded.ts";
import * as m036 from "./036_list_sorts_indexed.ts";
import * as m037 from "./037_user_search_folded.ts";
import * as m039 from "./039_users_tags_any_case.ts";
import * as m041 from "./041_stored_names_composed.ts";
import * as m042 from "./042_import_rows_given_id.ts";
import * as m043 from "./043_change_log_member_group.ts";
import * as m045 from "./045_source_tags_indexed.ts";
import * as m046 from "./046_scim_sources.ts";
import * as m047 from "./047_graph_change_subscriptions.ts";
import * as m048 from "./048_scim_signin_links.ts";
import * as m049 from "./049_scim_quiet_notifications.ts";
import * as m050 from "./050_user_managers.ts";
import * as m051 from "./051_entra_deleted_groups.ts";
import * as m052 from "./052_user_photos.ts";

/** Every schema version in order. Add a file and a line here; never edit a released migration. */
export const migrations: Record<string, Migration> = {
  "001_directory": m001,
  "002_sync": m002,
  "003_import": m003,
  "005_signin_notifications": m005,
  "006_sync_dirty_groups": m006,
  "007_import_write_cost": m007,
  "008_sync_departed_users": m008,
  "009_statement_references": m009,
  "010_time_ordered_ids": m010,
  "011_sync_dirty_users": m011,
  "012_reference_checks_by_key": m012,
  "013_unlogged_sync_staging": m013,
  "014_import_staging_one_index": m014,
  "015_sync_members_staged_by_group": m015,
  "016_change_log_json": m016,
  "017_references_to_own_rows": m017,
  "018_removed_source_users_managed": m018,
  "019_change_log_by_group": m019,
  "020_sync_run_cancel": m020,
  "021_sync_dirty_versions": m021,
  "022_sessions_end_on_disable": m022,
  "023_names_sort_alphabetically": m023,
  "024_rate_limits": m024,
  "025_import_uploads": m025,
  "026_microsoft_logout_hint": m026,
  "027_import_upload_committed": m027,
  "028_api_token_expiry": m028,
  "029_access_and_sign_out": m029,
  "030_change_log_activity": m030,
  "031_sync_restorable_users": m031,
  "032_user_search_text": m032,
  "035_dry_run_changes_discarded": m035,
  "036_list_sorts_indexed": m036,
  "037_user_search_folded": m037,
  "039_users_tags_any_case": m039,
  "041_stored_names_composed": m041,
  "042_import_rows_given_id": m042,
  "043_change_log_member_group": m043,
  "045_source_tags_indexed": m045,
  "046_scim_sources": m046,
  "047_graph_change_subscriptions": m047,
  "048_scim_signin_links": m048,
  "049_scim_quiet_notifications": m049,
  "050_user_managers": m050,
  "051_entra_deleted_groups": m051,
  "052_user_photos": m052,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

export function migrator(db: Kysely<unknown>): Migrator {
  return new Migrator({ db, provider, migrationTableName: "rollcall_migrations", migrationLockTableName: "rollcall_migrations_lock" });
}

export const latestVersion = Object.keys(migrations).at(-1)!;

/**
 * Whether every migration has run, in one query: the migrator takes its lock and reads the schema first
 * (about 0.3 s on PGlite), which every CLI command would pay otherwise. Anything else goes to the migrator.
 */
export async function isMigrated(db: Kysely<unknown>): Promise<boolean> {
  try {
    const { rows } = await sql<{ ran: number; last: string | null }>`select count(*)::int as ran, max(name) as last from rollcall_migrations`.execute(db);
    return rows[0]!.ran === Object.keys(migrations).length && rows[0]!.last === latestVersion;
  } catch {
    return false; // a new database: no table yet
  }
}
