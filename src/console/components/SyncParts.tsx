import { useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../api.ts";
import { Link } from "../router.tsx";
import { wsPath } from "../session.tsx";
import { useInterval, useLoad } from "../hooks.ts";
import { countsSummary, describeProgress, statusText, statusTone, syncApi, wouldStopWarning, type Check, type Run, type Source, type TestResult } from "../sync-api.ts";
import { Badge, ErrorBanner, ProgressBar, Spinner } from "./ui.tsx";
import { countOf, relativeTime } from "../format.ts";
import { sourceAdvice } from "../advice.ts";

/** Connect: test the credentials and permissions, one line per check, with what to do for each failure. */
export function ConnectButton({ workspace, source, onResult, next, primary = false }: { workspace: string; source: string; onResult?: (r: TestResult) => void; next?: ReactNode; primary?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    if (busy) return; // the button stays focusable while busy (aria-disabled)
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await syncApi.test(workspace, source);
      setResult(r);
      onResult?.(r);
    } catch (e) {
      // A failed connection may come back as an error whose details carry the checks.
      const checks = e instanceof ApiError && Array.isArray(e.details.checks) ? (e.details.checks as Check[]) : null;
      if (checks) setResult({ ok: false, checks });
      else setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="connect">
      <button type="button" className={primary ? "btn btn-primary" : "btn"} onClick={run} aria-disabled={busy || undefined}>
        {busy ? <Spinner label="Connecting" /> : null} {busy ? "Connecting…" : "Connect"}
      </button>
      {busy ? <span className="muted small"> Signing in to Entra ID and checking permissions…</span> : null}
      <ErrorBanner error={error} title="The connection test could not run." />
      {result ? <CheckList result={result} /> : null}
      {result?.ok ? next : null}
    </div>
  );
}

export function CheckList({ result }: { result: TestResult }) {
  return (
    <div className={`banner ${result.ok ? "banner-ok" : "banner-error"} check-result`} role="status">
      <strong>{result.ok ? "Connected. Everything the source needs is in place." : "The connection has problems:"}</strong>
      <ul className="checks">
        {result.checks.map((c) => (
          <li key={c.name} className={`check ${c.ok === null ? "check-skip" : c.ok ? "check-ok" : "check-bad"}`}>
            <span className="check-mark" aria-hidden="true">
              {c.ok === null ? "–" : c.ok ? "✓" : "✗"}
            </span>
            <span>
              <strong>{checkName(c.name)}</strong>
              <span className="visually-hidden">{c.ok === null ? " skipped" : c.ok ? " passed" : " failed"}</span>: {sourceAdvice(c.message)}
              {/* The code apart, unless the advice already starts with it ("AADSTS7000215: Wrong client secret…"). */}
              {c.code && !c.ok && !c.message.includes(c.code) ? <code className="check-code">{c.code}</code> : null}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

const checkNames: Record<string, string> = {
  tenant: "Directory (tenant)",
  client: "Application (client) ID",
  secret: "Client secret",
  credential: "Client secret",
  token: "Sign-in with the client secret",
  admin_consent: "Admin consent",
  users: "Read users (User.Read.All)",
  delta: "Track changes to users (delta query)",
  groups: "Read groups (Group.Read.All)",
  members: "Read group members",
  scope: "Groups the source names",
  network: "Network",
};
const checkName = (name: string) => checkNames[name] ?? name;

/** A run as it goes: polls the run every second while it is running and shows a progress bar. */
export function RunTracker({ workspace, runId, onDone }: { workspace: string; runId: string; onDone?: (run: Run) => void }) {
  const run = useLoad((signal) => syncApi.getRun(workspace, runId, signal), [workspace, runId]);
  const running = !run.data || run.data.status === "running";
  const reported = useRef(false);
  useInterval(() => run.reload(), 1000, running && !run.error);
  useEffect(() => {
    if (run.data && !running && !reported.current) {
      reported.current = true;
      onDone?.(run.data);
    }
  }, [run.data, running, onDone]);
  const r = run.data;
  return (
    <div className="run-tracker">
      <ErrorBanner error={run.error} retry={run.reload} title="The run's progress could not be read." />
      {r && running ? <ProgressBar {...describeProgress(r)} /> : null}
      {!r && !run.error ? <ProgressBar value={null} max={null} label="Starting…" /> : null}
      {/* The outcome is announced once, when it comes; the progress bar's label, changing every second, is not. */}
      <div aria-live="polite">{r && !running ? <RunOutcome workspace={workspace} run={r} announced={false} /> : null}</div>
    </div>
  );
}

/** The counts about users: a run whose counts are all about groups says so, else it reads as if users were forgotten. */
const userCounts = new Set(["created", "linked", "updated", "disabled", "deleted", "unchanged", "skipped", "conflicts"]);

/** `announced: false` inside a live region of its own (RunTracker), which announces it instead. */
export function RunOutcome({ workspace, run, announced = true }: { workspace: string; run: Run; announced?: boolean }) {
  const counts = countsSummary(run.counts);
  const usersUnchanged = counts.length > 0 && run.status === "succeeded" && !counts.some((c) => userCounts.has(c.key));
  const wouldStop = wouldStopWarning(run);
  const tone = run.status === "failed" ? "banner-error" : run.status === "stopped" || wouldStop ? "banner-warn" : "banner-ok";
  return (
    <div className={`banner ${tone}`} role={announced ? "status" : undefined}>
      <div>
        <strong>
          {run.dryRun && run.status === "succeeded" ? "Preview ready: nothing was changed." : run.status === "succeeded" ? "Sync finished." : run.status === "stopped" ? "Stopped for review." : `Sync ${statusText(run).toLowerCase()}.`}
        </strong>{" "}
        {usersUnchanged ? `No user ${run.dryRun ? "would change" : "changed"} · ` : ""}
        {counts.length ? counts.map((c) => `${c.value.toLocaleString()} ${c.label}`).join(" · ") : run.status === "succeeded" ? "No changes." : ""}
        {run.error ? <p>{sourceAdvice(run.error.message)}</p> : null}
        {wouldStop ? <p>{wouldStop}</p> : null}
        <p>
          <Link to={wsPath(workspace, `/runs/${run.id}`)}>{run.dryRun ? "See the changes it would make" : run.status === "stopped" ? "Review and apply or reject" : "See the run's change log"}</Link>
        </p>
      </div>
    </div>
  );
}

/** A run's conflicts and warnings, each a link to those entries of its change log. */
function NeedsAttention({ workspace, run }: { workspace: string; run: { id: string; counts: Record<string, number> } }) {
  const items = (
    [
      ["conflict", run.counts.conflicts ?? 0, "conflict"],
      ["warning", run.counts.warnings ?? 0, "warning"],
    ] as const
  ).filter(([, n]) => n > 0);
  if (!items.length) return null;
  return (
    <span className="attention">
      {items.map(([action, n, word]) => (
        <Link key={action} to={wsPath(workspace, `/runs/${run.id}?action=${action}`)}>
          {countOf(n, word)}
        </Link>
      ))}
    </span>
  );
}

export function SourceStats({ workspace, source }: { workspace: string; source: Source }) {
  const s = source.status;
  const last = s.lastRun;
  return (
    <dl className="stats">
      <div className="stat">
        <dt>Synced users</dt>
        <dd>{s.syncedUsers.toLocaleString()}</dd>
      </div>
      <div className="stat">
        <dt>Synced groups</dt>
        <dd>{s.syncedGroups.toLocaleString()}</dd>
      </div>
      <div className="stat">
        <dt>Last run</dt>
        <dd>
          {last ? (
            <>
              <span title={last.startedAt}>{relativeTime(last.startedAt)}</span> <Badge tone={statusTone(last.status)}>{statusText(last)}</Badge>
              <NeedsAttention workspace={workspace} run={last} />
              {s.awaitingReview && s.awaitingReview !== last.id ? (
                <span className="attention">
                  <Link to={wsPath(workspace, `/runs/${s.awaitingReview}`)}>A stopped run needs review</Link>
                </span>
              ) : null}
            </>
          ) : (
            "never"
          )}
        </dd>
      </div>
      <div className="stat">
        <dt>Next run</dt>
        <dd>{s.nextRunAt ? <span title={s.nextRunAt}>{relativeTime(s.nextRunAt)}</span> : source.config.schedule ? "—" : "not scheduled"}</dd>
      </div>
    </dl>
  );
}

/** The secret's state, loud when it is missing, expired or about to expire. */
export function SecretState({ source }: { source: Source }) {
  const days = source.secret.daysLeft;
  const tone = !source.secret.set || (days !== null && days <= 0) ? "bad" : days !== null && days <= 30 ? "warn" : "neutral";
  return <Badge tone={tone}>Secret {source.secret.description}</Badge>;
}
