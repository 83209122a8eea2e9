import type { ColumnType, Generated, JSONColumnType } from "kysely";
import type { ImportCounts, RunCounts } from "../domain/run-counts.ts";

/** Kysely's view of the tables created by `migrations/`. Column names are snake_case in SQL. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface WorkspacesTable {
  id: Generated<string>;
  name: string;
  default_country: string | null;
  created_at: Timestamp;
}

export type SourceType = "manual" | "import" | "entra" | "scim";

export interface SourcesTable {
  id: Generated<string>;
  workspace_id: string;
  type: SourceType;
  name: string;
  config: JSONColumnType<Record<string, unknown>>;
  secret_ciphertext: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface UsersTable {
  id: Generated<string>;
  workspace_id: string;
  user_principal_name: string | null;
  email: string | null;
  display_name: string;
  given_name: string | null;
  surname: string | null;
  department: string | null;
  job_title: string | null;
  employee_id: string | null;
  mobile_phone: string | null;
  business_phones: ColumnType<string[], string[] | undefined, string[]>;
  preferred_language: string | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  pin_hash: string | null;
  custom_attributes: JSONColumnType<Record<string, string>>;
  source_type: SourceType;
  source_name: string;
  source_id: string | null;
  external_id: string | null;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  /** Another user of the workspace (migration 050); cleared when that user is deleted. */
  manager_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Generated (migration 032): what user search reads. Never written. */
  search_text: ColumnType<string, never, never>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type IdentifierKind = "alias" | "card";

/** Aliases and card numbers: one row each so that uniqueness per workspace is an index, not a scan. */
export interface UserIdentifiersTable {
  workspace_id: string;
  kind: IdentifierKind;
  /** The comparison key: aliases lower-cased, card numbers as given. */
  key: string;
  value: string;
  user_id: string;
  position: number;
}

export interface GroupsTable {
  id: Generated<string>;
  workspace_id: string;
  name: string;
  description: string | null;
  source_type: SourceType;
  source_name: string;
  source_id: string | null;
  external_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupMembersTable {
  workspace_id: string;
  group_id: string;
  member_user_id: string | null;
  member_group_id: string | null;
}

export interface ChangeLogTable {
  id: Generated<string>;
  workspace_id: string;
  run_id: string | null;
  user_id: string | null;
  group_id: string | null;
  /** A membership entry's member when it is a group: the entry is in that group's history too (migration 043). */
  member_group_id: Generated<string | null>;
  subject: string;
  action: string;
  before: JSONColumnType<Record<string, unknown> | null>;
  after: JSONColumnType<Record<string, unknown> | null>;
  actor: string;
  at: Timestamp;
}

export const runTriggers = ["manual", "schedule", "api", "notification"] as const;
export const runModes = ["full", "delta"] as const;
export const runStatuses = ["running", "succeeded", "failed", "stopped", "applied", "rejected"] as const;
export type RunTrigger = (typeof runTriggers)[number];
export type RunMode = (typeof runModes)[number];
export type RunStatus = (typeof runStatuses)[number];

export interface SyncRunsTable {
  id: Generated<string>;
  workspace_id: string;
  source_id: string;
  trigger: RunTrigger;
  mode: RunMode;
  dry_run: boolean;
  status: RunStatus;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  heartbeat_at: Timestamp;
  counts: JSONColumnType<RunCounts>;
  progress: JSONColumnType<Record<string, unknown>>;
  error: JSONColumnType<Record<string, unknown> | null>;
  graph_requests: number;
  graph_throttled: number;
  /** Past the deletion threshold with --force (migration 002). */
  forced: Generated<boolean>;
  /** Who started the run: an admin, an API token, the CLI's user or "schedule" (migration 002); null on older runs. */
  requested_by: string | null;
  /** A request to stop the run (migration 020): its runner aborts when it sees it. */
  cancel_requested_at: Timestamp | null;
  cancel_requested_by: string | null;
  /** A dry run whose change set was discarded, kept the newest few (migration 035). */
  changes_discarded_at: Timestamp | null;
}

export interface AccountsTable {
  id: Generated<string>;
  email: string;
  display_name: string;
  password_hash: string | null;
  /** Owners administer every workspace and create new ones; the first admin is one. */
  is_owner: boolean;
  /** Set for a synced user who signs in with Microsoft: the directory row this account speaks for. */
  user_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** A synced person whose console access an admin removed: their sign-in is refused until given a role again. */
  sign_in_blocked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  created_at: Timestamp;
}

export type Role = "admin" | "viewer";

export interface WorkspaceRolesTable {
  account_id: string;
  workspace_id: string;
  role: Role;
}

export interface SessionsTable {
  id_hash: string;
  account_id: string;
  csrf_token: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** The login_hint claim of the ID token a Microsoft sign-in came with: the logout_hint of its sign-out. */
  microsoft_login_hint: string | null;
  /** The ID token's sid (Microsoft's browser session): front-channel logout ends the sessions that name it. */
  microsoft_sid: ColumnType<string | null, string | null | undefined, string | null>;
}

/** One rate-limit counter (api/rate-limit-store.ts); `key` is a hash of the limit's key. */
export interface RateLimitsTable {
  key: string;
  hits: number;
  resets_at: Timestamp;
}

export interface ApiTokensTable {
  id: Generated<string>;
  workspace_id: string;
  name: string;
  role: Role;
  token_hash: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  expires_at: Timestamp | null;
  /** The account that created it (null: the CLI on the server itself): the token lasts while they hold its role. */
  created_by_account_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface SettingsTable {
  key: string;
  value: JSONColumnType<Record<string, unknown>>;
}

export interface SigninRequestsTable {
  state_hash: string;
  workspace_id: string;
  source_ids: string[];
  browser_hash: string;
  nonce: string;
  code_verifier: string;
  redirect_uri: string;
  return_to: string | null;
  client_redirect: string | null;
  client_challenge: string | null;
  client_state: string | null;
  client_code_hash: string | null;
  account_id: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  microsoft_login_hint: string | null;
}

export type NotificationKind = "secret_expiry" | "sync_failed" | "sync_stopped" | "import_failed" | "scim_quiet";
export type NotificationSeverity = "info" | "warning" | "critical";

export interface NotificationsTable {
  id: Generated<string>;
  workspace_id: string;
  kind: NotificationKind;
  subject: string;
  milestone: string;
  severity: NotificationSeverity;
  title: string;
  body: string;
  link: string | null;
  data: JSONColumnType<Record<string, unknown>>;
  created_at: Timestamp;
  resolved_at: Timestamp | null;
  dismissed_at: Timestamp | null;
  dismissed_by: string | null;
}

export interface NotificationSettingsTable {
  workspace_id: string;
  email_to: ColumnType<string[], string[] | undefined, string[]>;
  webhook_url: string | null;
  webhook_secret_ciphertext: string | null;
  updated_at: Timestamp;
}

export type DeliveryChannel = "email" | "webhook";
export type DeliveryStatus = "pending" | "sending" | "sent" | "failed";

export interface NotificationDeliveriesTable {
  id: Generated<string>;
  notification_id: string;
  workspace_id: string;
  channel: DeliveryChannel;
  target: string;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  claimed_by: string | null;
  claimed_until: Timestamp | null;
  last_error: string | null;
  sent_at: Timestamp | null;
  created_at: Timestamp;
}

export interface ImportUploadsTable {
  id: string;
  workspace_id: string;
  file_name: string;
  size: number;
  uploaded_by: string;
  uploaded_at: Timestamp;
  expires_at: Timestamp;
  options: JSONColumnType<Record<string, unknown>> | null;
  committing_by: string | null;
  committing_until: Timestamp | null;
  progress: JSONColumnType<Record<string, unknown>> | null;
  committed: JSONColumnType<UploadImported> | null;
}

/** What an imported upload keeps of its commit (migration 027). */
export interface UploadImported {
  at: string;
  by: string;
  counts: ImportCounts;
}

export interface ImportUploadChunksTable {
  upload_id: string;
  seq: number;
  data: Uint8Array;
}

/** A SCIM source's bearer token, as a hash (migration 046): it alone names the workspace and source a request is for. */
export interface ScimTokensTable {
  source_id: string;
  token_hash: string;
  created_at: Timestamp;
  last_request_at: Timestamp | null;
}

/** The Microsoft object ID (oid) that first signed in as a SCIM source's user (migration 048): matched by it afterwards. */
export interface ScimSigninLinksTable {
  user_id: string;
  source_id: string;
  object_id: string;
  linked_at: Generated<Timestamp>;
}

/** A user's profile photo (migration 052): uploaded, or synced from Entra ID with its @odata.mediaEtag. */
export interface UserPhotosTable {
  user_id: string;
  workspace_id: string;
  content_type: "image/jpeg" | "image/png";
  bytes: Uint8Array;
  media_etag: string | null;
  updated_at: Generated<Timestamp>;
}

export interface Database {
  workspaces: WorkspacesTable;
  sources: SourcesTable;
  users: UsersTable;
  user_identifiers: UserIdentifiersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  change_log: ChangeLogTable;
  sync_runs: SyncRunsTable;
  accounts: AccountsTable;
  workspace_roles: WorkspaceRolesTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  rate_limits: RateLimitsTable;
  settings: SettingsTable;
  signin_requests: SigninRequestsTable;
  notifications: NotificationsTable;
  notification_settings: NotificationSettingsTable;
  notification_deliveries: NotificationDeliveriesTable;
  import_uploads: ImportUploadsTable;
  import_upload_chunks: ImportUploadChunksTable;
  scim_tokens: ScimTokensTable;
  scim_signin_links: ScimSigninLinksTable;
  user_photos: UserPhotosTable;
}
