import { useEffect, useState, type FormEvent } from "react";
import { api, withQuery, ws } from "../api.ts";
import { setQuery, useLocation } from "../router.tsx";
import { useWorkspaceName } from "../session.tsx";
import type { ActivityPage as Page } from "../../core/change-log.ts";
import { useLoad, useTitle } from "../hooks.ts";
import { ErrorBanner, Loading, SelectField, Spinner, TextField } from "../components/ui.tsx";
import { History } from "../components/History.tsx";
import { actionLabel, activityKinds } from "../../domain/change.ts";

const pageSize = 50;

/** Who changed what in the workspace, newest first: everything but sync runs, an older page at a time. */
export function ActivityPage() {
  const workspace = useWorkspaceName();
  useTitle("Activity");
  // The filters live in the address, as the Users page's do: a reload, Back and a shared link keep them.
  const { query } = useLocation();
  const filter = { actor: query.get("actor") ?? "", action: query.get("action") ?? "" };
  const [actor, setActor] = useState(filter.actor);
  useEffect(() => setActor(filter.actor), [filter.actor]);
  const path = ws(workspace, "/activity");
  const first = useLoad((signal) => api.get<Page>(path, { limit: pageSize, ...filter }, { signal }), [path, filter.actor, filter.action]);
  const [older, setOlder] = useState<Page | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<unknown>(null);
  useEffect(() => setOlder(null), [first.data]);
  const next = older ? older.next : (first.data?.next ?? null);
  const showOlder = async () => {
    setLoadingOlder(true);
    setOlderError(null);
    try {
      const page = await api.get<Page>(path, { limit: pageSize, ...filter, before: next });
      setOlder((o) => ({ items: [...(o?.items ?? []), ...page.items], next: page.next }));
    } catch (error) {
      setOlderError(error);
    } finally {
      setLoadingOlder(false);
    }
  };
  const applyActor = (event: FormEvent) => {
    event.preventDefault();
    setQuery({ actor: actor.trim() });
  };

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Activity</h1>
          <p className="muted">Every change made in this workspace by people, scripts and imports, newest first. What a sync changed is on its run's page.</p>
        </div>
        <a className="btn" href={`/api/v1${withQuery(ws(workspace, "/activity.csv"), filter)}`} download>
          Download CSV
        </a>
      </div>
      <form className="filters" role="search" aria-label="Filter activity" onSubmit={applyActor}>
        <SelectField label="Kind of change" value={filter.action} onChange={(e) => setQuery({ action: e.target.value })}>
          <option value="">Any change</option>
          {activityKinds.map((k) => (
            <option key={k} value={k}>
              {actionLabel(k)}
            </option>
          ))}
        </SelectField>
        <TextField label="By" className="actor-filter" value={actor} placeholder='admin@example.com, alice (CLI), CLI (any account), API token "NAME"' onChange={(e) => setActor(e.target.value)} onBlur={applyActor} />
      </form>
      <ErrorBanner error={first.error} retry={first.reload} title="The activity could not be loaded." />
      {!first.data && first.loading ? <Loading label="Loading activity…" /> : null}
      {first.data ? (
        <section className="card" aria-label="Changes">
          <History changes={[...first.data.items, ...(older?.items ?? [])]} showSubject />
          <ErrorBanner error={olderError} title="Older changes could not be loaded." />
          {next ? (
            <button type="button" className="btn" disabled={loadingOlder} onClick={() => void showOlder()}>
              {loadingOlder ? <Spinner label="Loading" /> : null} Show older changes
            </button>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}
