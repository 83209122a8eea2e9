import { api, ApiError } from "../api.ts";
import { useLoad, useTitle } from "../hooks.ts";
import { Breadcrumb, ErrorBanner, Loading } from "../components/ui.tsx";
import { HistoryCard } from "../components/History.tsx";
import { formatDate } from "../format.ts";
import { describeActor } from "../../domain/actor.ts";
import type { ChangeRecord, PageOf } from "../types.ts";

interface DeletedGroupInfo {
  id: string;
  name: string;
  deletedAt: string;
  deletedBy: string;
}

/**
 * A group id no group of the workspace has: a deleted group's history, kept under it (a group a history entry names
 * links here), or else the group's "not found".
 */
export function DeletedGroupPage({ workspace, path, notFound }: { workspace: string; path: string; notFound: ApiError }) {
  const kept = useLoad((signal) => api.get<PageOf<ChangeRecord> & { deleted?: DeletedGroupInfo }>(`${path}/changes`, { limit: 1 }, { signal }), [path]);
  const deleted = kept.data?.deleted;
  useTitle(deleted ? `${deleted.name} (deleted)` : "Group");
  if (!deleted) {
    const error = kept.error instanceof ApiError && kept.error.status === 404 ? notFound : kept.error;
    return (
      <div className="page">
        <Breadcrumb workspace={workspace} to="/groups" label="Groups" />
        <ErrorBanner error={kept.data ? notFound : error} retry={kept.reload} title="The group could not be loaded." />
        {kept.loading ? <Loading label="Loading group…" /> : null}
      </div>
    );
  }
  return (
    <div className="page">
      <Breadcrumb workspace={workspace} to="/groups" label="Groups" />
      <div className="page-head">
        <div>
          <h1>Deleted group</h1>
          <p className="muted deleted-group-summary">
            {deleted.name}, deleted on {formatDate(deleted.deletedAt)} by {describeActor(deleted.deletedBy)}. No group of this workspace has this id any more;
            its history is kept.
          </p>
        </div>
      </div>
      <HistoryCard path={path} version={path} showSubject />
    </div>
  );
}
