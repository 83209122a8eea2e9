import { useState } from "react";
import { api, ws } from "../api.ts";
import { Link, navigate, useLocation, offsetIn, setQuery } from "../router.tsx";
import { AdminOnly, useWorkspaceName, wsPath } from "../session.tsx";
import { isSyncedSourceType, type Group, type PageOf } from "../types.ts";
import { useLoad, useQuerySearch, useTitle } from "../hooks.ts";
import { Badge, Empty, ErrorBanner, Loading, TextArea, TextField } from "../components/ui.tsx";
import { Dialog, useUnsavedChanges } from "../components/dialog.tsx";
import { DataTable, QueryPager, useOffsetInRange } from "../components/DataTable.tsx";
import { keptFrom } from "../../domain/source.ts";
import { useSubmit, FormError, FormActions } from "../components/form.tsx";
import { DraftNotice, hasDraft, useDraft, useKeepDraft } from "../drafts.tsx";

const pageSize = 50;

export function groupSourceLabel(group: Pick<Group, "source">): string {
  if (group.source.type === "entra") return `Entra ID: ${group.source.name}`;
  if (group.source.type === "scim") return `Entra ID (SCIM): ${group.source.name}`;
  if (group.source.type === "import") return "Imported";
  const removed = keptFrom(group.source);
  return removed ? `Kept from Entra ID: ${removed}` : "Created here";
}

export function GroupsPage() {
  const workspace = useWorkspaceName();
  useTitle("Groups");
  const { query } = useLocation();
  const q = query.get("q") ?? "";
  const sourceType = query.get("sourceType") ?? "";
  const source = query.get("source") ?? ""; // one source's groups: its page links here
  const offset = offsetIn(query);
  const [search, setSearch] = useQuerySearch(q);
  const groups = useLoad(
    (signal) => api.get<PageOf<Group>>(ws(workspace, "/groups"), { limit: pageSize, offset, q, sourceType: sourceType || undefined, source: source || undefined }, { signal }),
    [workspace, offset, q, sourceType, source],
  );
  const filtered = Boolean(q || sourceType || source);
  const [creating, setCreating] = useState(() => hasDraft("group")); // open again with the changes kept over a sign-in
  const beyond = useOffsetInRange(groups.data, pageSize);
  const data = beyond ? undefined : groups.data;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Groups</h1>
          <p className="muted">{data ? `${data.total.toLocaleString()} ${filtered ? "matching" : "in this workspace"}` : "\u00a0"}</p>
        </div>
        <AdminOnly>
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New group
            </button>
          </div>
        </AdminOnly>
      </div>
      <div className="filters" role="search" aria-label="Filter groups">
        <div className="field field-search">
          <label htmlFor="group-search">Search</label>
          <input id="group-search" type="search" placeholder="Group name…" value={search} onChange={(e) => setSearch(e.target.value)} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="group-source">Source</label>
          <select id="group-source" value={sourceType} onChange={(e) => setQuery({ sourceType: e.target.value || null, offset: null })}>
            <option value="">All sources</option>
            <option value="manual,import">Yours to change (created here or imported)</option>
            <option value="manual">Created here (or kept from a removed source)</option>
            <option value="import">Imported</option>
            <option value="entra">Synced from Entra ID</option>
            <option value="scim">Provisioned by Entra ID (SCIM)</option>
          </select>
        </div>
      </div>
      {source ? (
        <p className="muted small" data-kind="source-filter">
          Only the groups of source {source}.{" "}
          <button type="button" className="btn btn-link btn-small" onClick={() => setQuery({ source: null, offset: null })}>
            Show all sources
          </button>
        </p>
      ) : null}
      <ErrorBanner error={groups.error} retry={groups.reload} title="Groups could not be loaded." />
      {!data && (groups.loading || beyond) ? <Loading label="Loading groups…" /> : null}
      {data && data.items.length === 0 ? (
        <Empty title={filtered ? "No groups match" : "No groups yet"}>
          <p>{filtered ? "Try another name or source." : "Groups come from Entra ID when a source syncs groups, or you can create one here."}</p>
        </Empty>
      ) : null}
      {data && data.items.length ? (
        <DataTable columns={["Name", { label: "Description", className: "hide-narrow" }, "Source", { label: "Members", className: "num" }]} loading={groups.loading}>
          {data.items.map((g) => (
            <tr key={g.id} onClick={(e) => !(e.target as HTMLElement).closest("a,button") && navigate(wsPath(workspace, `/groups/${g.id}`))}>
              <td data-label="Name">
                <Link className="strong" to={wsPath(workspace, `/groups/${g.id}`)} dir="auto">
                  {g.name}
                </Link>
              </td>
              <td data-label="Description" className="hide-narrow truncate">
                {g.description ?? <span className="muted">—</span>}
              </td>
              <td data-label="Source">
                <Badge tone={isSyncedSourceType(g.source.type) ? "info" : "neutral"}>{groupSourceLabel(g)}</Badge>
              </td>
              <td data-label="Members" className="num">
                {g.memberCount.toLocaleString()}
              </td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      {data ? <QueryPager offset={data.offset} limit={pageSize} total={data.total} /> : null}
      <GroupFormDialog
        workspace={workspace}
        open={creating}
        onClose={() => setCreating(false)}
        onSaved={(g) => {
          setCreating(false);
          navigate(wsPath(workspace, `/groups/${g.id}`));
        }}
      />
    </div>
  );
}

export function GroupFormDialog({
  workspace,
  group,
  open,
  onClose,
  onSaved,
}: {
  workspace: string;
  group?: Group;
  open: boolean;
  onClose: () => void;
  onSaved: (g: Group) => void;
}) {
  return (
    <Dialog open={open} title={group ? `Edit ${group.name}` : "New group"} onClose={onClose}>
      <GroupForm workspace={workspace} group={group} onClose={onClose} onSaved={onSaved} />
    </Dialog>
  );
}

/** Mounted while its dialog is open: each opening starts from the group (or from changes kept over a sign-in). */
function GroupForm({ workspace, group, onClose, onSaved }: { workspace: string; group?: Group | undefined; onClose: () => void; onSaved: (g: Group) => void }) {
  const start = { name: group?.name ?? "", description: group?.description ?? "" };
  const draft = useDraft<typeof start>("group");
  const [name, setName] = useState(draft?.value.name ?? start.name);
  const [description, setDescription] = useState(draft?.value.description ?? start.description);
  const changed = name !== start.name || description !== start.description;
  useUnsavedChanges(changed);
  useKeepDraft("group", () => (changed ? { value: { name, description }, dropped: [] } : undefined));
  const { busy, error, fields, submit } = useSubmit(async () => {
    const body = { name: name.trim(), description: description.trim() || null };
    const saved = group
      ? await api.patch<Group>(ws(workspace, `/groups/${encodeURIComponent(group.id)}`), body, { ifMatch: true })
      : await api.post<Group>(ws(workspace, "/groups"), body);
    onSaved(saved);
  });
  return (
    <form onSubmit={submit} noValidate>
      <DraftNotice draft={draft} />
      <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} required />
      <TextArea label="Description" value={description} onChange={(e) => setDescription(e.target.value)} error={fields.description} />
      <FormError error={error} fields={fields} title="The group was not saved." />
      <FormActions busy={busy} label={group ? "Save" : "Create group"} disabled={!name.trim()} onCancel={onClose} />
    </form>
  );
}
