import { Gauge, Registry } from "prom-client";
import { runStatuses } from "../storage/schema.ts";
import type { MetricsSnapshot } from "../core/metrics-snapshot.ts";

const finishedStatuses = runStatuses.filter((status) => status !== "running");
const seconds = (date: Date) => date.getTime() / 1000;

/**
 * The directory's state as gauges, in a registry made for one scrape: a source or workspace removed since the last
 * scrape has no series left over, and every value is the database's, whichever process answers.
 */
export function directoryRegistry(snapshot: MetricsSnapshot): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name: `rollcall_${name}`, help, labelNames, registers: [registry] });
  const workspaceUsers = gauge("workspace_users", "Users in the workspace, from every source", ["workspace"]);
  const openNotifications = gauge("workspace_open_notifications", "Notifications of the workspace neither resolved nor dismissed", ["workspace"]);
  for (const w of snapshot.workspaces) {
    workspaceUsers.set({ workspace: w.workspace }, w.users);
    openNotifications.set({ workspace: w.workspace }, w.openNotifications);
  }

  const source = ["workspace", "source"];
  const kind = gauge("source_info", "1 for each source, labelled with its type: entra (read through Microsoft Graph) or scim (Entra ID's provisioning service pushes to it)", [...source, "type"]);
  const lastRequest = gauge("source_last_request_timestamp_seconds", "When a SCIM source's provisioning service last called it (unix seconds, to the minute)", source);
  const created = gauge("source_created_timestamp_seconds", "When the source was added (unix seconds): with no successful run yet, the time to count from", source);
  const users = gauge("source_users", "Users the source holds in the directory", source);
  const groups = gauge("source_groups", "Groups the source holds in the directory", source);
  const running = gauge("source_sync_running", "1 while a sync run of the source is going (on any process), else 0", source);
  const awaitingReview = gauge("source_awaiting_review", "1 when the source's newest run stopped at the deletion threshold and awaits approval or rejection, else 0", source);
  const secretExpiry = gauge(
    "source_secret_expiry_timestamp_seconds",
    "When the source's client secret or certificate expires (unix seconds), where its expiry date is set: use is sync (an Entra ID source's) or sign-in (a SCIM source's Sign in with Microsoft); credential is secret or certificate",
    [...source, "use", "credential"],
  );
  const lastSuccess = gauge("source_last_success_timestamp_seconds", "When the source's newest successful sync run (not a dry run) ended (unix seconds)", source);
  const lastStatus = gauge("source_last_run_status", "1 for the status of the source's newest finished sync run (not a dry run), 0 for the others", [...source, "status"]);
  const lastEnd = gauge("source_last_run_end_timestamp_seconds", "When the source's newest finished sync run (not a dry run) ended (unix seconds)", source);
  const lastDuration = gauge("source_last_run_duration_seconds", "How long the source's newest finished sync run (not a dry run) took", source);
  const lastCounts = gauge("source_last_run_counts", "What the source's newest finished sync run (not a dry run) counted: users created, updated, disabled, deleted…, errors", [...source, "count"]);
  const lastRequests = gauge("source_last_run_graph_requests", "Microsoft Graph requests the source's newest finished sync run (not a dry run) made", source);
  const lastThrottled = gauge("source_last_run_graph_throttled_requests", "Microsoft Graph requests of that run answered 429 (throttled)", source);
  for (const s of snapshot.sources) {
    const labels = { workspace: s.workspace, source: s.source };
    kind.set({ ...labels, type: s.type }, 1);
    if (s.lastRequestAt) lastRequest.set(labels, seconds(s.lastRequestAt));
    created.set(labels, seconds(s.createdAt));
    users.set(labels, s.users);
    groups.set(labels, s.groups);
    running.set(labels, s.running ? 1 : 0);
    awaitingReview.set(labels, s.awaitingReview ? 1 : 0);
    if (s.secretExpiry) {
      const { expiresOn, use, credential } = s.secretExpiry;
      secretExpiry.set({ ...labels, use, credential }, Date.parse(`${expiresOn}T00:00:00Z`) / 1000);
    }
    if (s.lastSuccessAt) lastSuccess.set(labels, seconds(s.lastSuccessAt));
    const last = s.lastRun;
    if (!last) continue;
    for (const status of finishedStatuses) lastStatus.set({ ...labels, status }, status === last.status ? 1 : 0);
    if (last.finishedAt) {
      lastEnd.set(labels, seconds(last.finishedAt));
      lastDuration.set(labels, seconds(last.finishedAt) - seconds(last.startedAt));
    }
    for (const [count, value] of Object.entries(last.counts)) lastCounts.set({ ...labels, count }, value);
    lastRequests.set(labels, last.graphRequests);
    lastThrottled.set(labels, last.graphThrottled);
  }
  return registry;
}
