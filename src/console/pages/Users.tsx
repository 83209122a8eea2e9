import { useEffect, useRef, useState } from "react";
import { api, ApiError, withQuery, ws } from "../api.ts";
import { Link, navigate, setQuery, useLocation, offsetIn } from "../router.tsx";
import { AdminOnly, useCanChange, useWorkspaceName, wsPath } from "../session.tsx";
import type { ListedUser, PageOf, User } from "../types.ts";
import { useLoad, useTitle } from "../hooks.ts";
import { Badge, Empty, ErrorBanner, Loading, tagTone } from "../components/ui.tsx";
import { countOf, relativeTime, formatDate } from "../format.ts";
import { UserFormDialog } from "../components/UserForm.tsx";
import { rememberSaveWarnings } from "../components/SaveWarnings.tsx";
import { DataTable, QueryPager, useOffsetInRange, type Column } from "../components/DataTable.tsx";
import { BulkActions } from "../components/BulkActions.tsx";
import { Menu } from "../components/Menu.tsx";
import { hasDraft } from "../drafts.tsx";
import { sourceLabel, StatusBadge } from "../components/user-labels.tsx";
import { UserAvatar } from "../components/UserPhoto.tsx";
import { isFiltered, UserFilters, type UserQuery } from "./UserFilters.tsx";

const pageSize = 50;
type Sort = "displayName" | "email" | "createdAt" | "updatedAt" | "source";
const sortable: Sort[] = ["displayName", "email", "createdAt", "updatedAt", "source"];

/** The sortable columns' headings, which the table's caption names too (a screen reader heard "displayName"). */
const sortLabels = { displayName: "Name", email: "Email", source: "Source", updatedAt: "Updated" } as const;

export function UsersPage() {
  const workspace = useWorkspaceName();
  useTitle("Users");
  const { query } = useLocation();
  const filters: UserQuery = {
    q: query.get("q") ?? "",
    source: query.get("source") ?? "",
    sourceType: query.get("sourceType") ?? "",
    tag: query.get("tag") ?? "",
    enabled: query.get("enabled") ?? "",
    group: query.get("group") ?? "",
    nested: query.get("nested") ?? "",
    department: query.get("department") ?? "",
    hasDepartment: query.get("hasDepartment") ?? "",
  };
  const { q, source, sourceType, tag, enabled, group, department, hasDepartment } = filters;
  const nested = group && filters.nested === "true" ? "true" : ""; // alone it filters nothing (and the API refuses it)
  const sortParam = query.get("sort") as Sort | null;
  const sort: Sort = sortParam && sortable.includes(sortParam) ? sortParam : "displayName";
  const order = query.get("order") === "desc" ? "desc" : "asc";
  const offset = offsetIn(query);

  const users = useLoad(
    (signal) =>
      api
        .get<PageOf<ListedUser>>(ws(workspace, "/users"), { limit: pageSize, offset, sort, order, q, source, sourceType, tag, enabled, group, nested, department, hasDepartment }, { signal })
        // The filters offer names the workspace had: one gone since (its last user deleted) matches no users.
        .catch((e: unknown) => {
          const stale = e instanceof ApiError && e.code === "invalid_input" && e.fields.length > 0 && e.fields.every((f) => f.field === "source" || f.field === "group" || f.field === "department");
          if (stale) return { items: [], total: 0, limit: pageSize, offset: 0 } satisfies PageOf<ListedUser>;
          throw e;
        }),
    [workspace, offset, sort, order, q, source, sourceType, tag, enabled, group, nested, department, hasDepartment],
  );
  const [adding, setAdding] = useState(() => hasDraft("user")); // open again with the changes kept over a sign-in
  const canChange = useCanChange();
  // The ticked rows of this page; a new page, sort or filter starts a new selection.
  const [selected, setSelected] = useState<ReadonlyMap<string, User>>(new Map());
  const [allMatching, setAllMatching] = useState(false);
  const clearSelection = () => {
    setSelected(new Map());
    setAllMatching(false);
  };
  useEffect(clearSelection, [workspace, offset, sort, order, q, source, sourceType, tag, enabled, group, nested, department, hasDepartment]);
  // A bulk action done, its bar (and the dialog or button the focus was on) is gone: focus goes to the page's heading.
  const heading = useRef<HTMLHeadingElement>(null);
  const [bulkDone, setBulkDone] = useState(0);
  useEffect(() => {
    if (bulkDone && (!document.activeElement || document.activeElement === document.body)) heading.current?.focus();
  }, [bulkDone]);
  const toggle = (user: User) => {
    setAllMatching(false);
    setSelected((current) => {
      const next = new Map(current);
      if (next.has(user.id)) next.delete(user.id);
      else next.set(user.id, user);
      return next;
    });
  };

  const sortBy = (column: Sort) => {
    // Dates start newest first (what changed lately), names from A.
    const first = column === "createdAt" || column === "updatedAt" ? "desc" : "asc";
    const nextOrder = sort === column ? (order === "asc" ? "desc" : "asc") : first;
    setQuery({ sort: column, order: nextOrder, offset: null });
  };
  const sortColumn = (column: Sort, label: string): Column => ({
    sort: sort === column ? (order === "asc" ? "ascending" : "descending") : "none",
    label: (
      <button type="button" className="sort" onClick={() => sortBy(column)}>
        {label}
        <span className="sort-mark" aria-hidden="true">
          {sort === column ? (order === "asc" ? "▲" : "▼") : "↕"}
        </span>
      </button>
    ),
  });
  const filtered = isFiltered(filters);
  const beyond = useOffsetInRange(users.data, pageSize);
  const data = beyond ? undefined : users.data;
  const pageItems = data?.items ?? [];
  const allTicked = pageItems.length > 0 && pageItems.every((u) => selected.has(u.id));
  const userFilter = { q: q || undefined, source: source || undefined, sourceType: sourceType || undefined, tag: tag || undefined, group: group || undefined, nested: nested ? true : undefined, department: department || undefined, hasDepartment: hasDepartment ? hasDepartment === "true" : undefined, enabled: enabled ? enabled === "true" : undefined };
  const exportUrl = (format: "csv" | "xlsx") => `/api/v1${withQuery(ws(workspace, "/exports"), { format, ...userFilter })}`;

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1 ref={heading} tabIndex={-1}>
            Users
          </h1>
          <p className="muted">
            {data ? `${data.total.toLocaleString()} ${filtered ? "matching" : "in this workspace"}` : "\u00a0"}
          </p>
        </div>
        <div className="actions">
          <Menu label="Export">
            <p className="muted small">{filtered ? `The ${data ? countOf(data.total, "user") : "users"} matching these filters` : "Every user of this workspace"}, in the columns the import reads</p>
            <a href={exportUrl("csv")} download>
              CSV
            </a>
            <a href={exportUrl("xlsx")} download>
              Excel (.xlsx)
            </a>
          </Menu>
          <AdminOnly>
            <Link className="btn" to={wsPath(workspace, "/import")}>
              Import
            </Link>
            <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
              Add user
            </button>
          </AdminOnly>
        </div>
      </div>

      <UserFilters workspace={workspace} query={filters} sort={sort} order={order} refresh={bulkDone} />

      {selected.size && data ? (
        <BulkActions
          workspace={workspace}
          selected={[...selected.values()]}
          matching={allMatching ? { filter: userFilter, total: data.total } : null}
          offerMatching={allTicked && !allMatching && data.total > pageItems.length ? { total: data.total, select: () => setAllMatching(true) } : null}
          onClear={clearSelection}
          onDone={() => {
            clearSelection();
            setBulkDone((n) => n + 1);
            users.reload();
          }}
        />
      ) : null}
      <ErrorBanner error={users.error} retry={users.reload} title="Users could not be loaded." />
      {!data && (users.loading || beyond) ? <Loading label="Loading users…" /> : null}
      {data ? (
        data.items.length === 0 ? (
          filtered ? (
            <Empty title="No users match these filters">
              <p>Try a shorter search or clear the filters.</p>
            </Empty>
          ) : (
            <Empty title="No users yet">
              <p>Connect Microsoft Entra ID under User synchronization, import a CSV or Excel file, or add a user by hand.</p>
              <AdminOnly>
                <div className="actions">
                  <Link className="btn" to={wsPath(workspace, "/sync")}>
                    Set up synchronization
                  </Link>
                  <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
                    Add user
                  </button>
                </div>
              </AdminOnly>
            </Empty>
          )
        ) : (
          <DataTable
            className="users-table"
            loading={users.loading}
            caption={`Users, sorted by ${(sortLabels as Record<string, string>)[sort] ?? sort} ${order === "asc" ? "ascending" : "descending"}`}
            columns={[
              ...(canChange
                ? [{ label: <PageCheckbox checked={allTicked} some={selected.size > 0} disabled={users.loading} onChange={() => (allTicked ? clearSelection() : setSelected(new Map(pageItems.map((u) => [u.id, u]))))} />, className: "cell-check" }]
                : []),
              sortColumn("displayName", sortLabels.displayName),
              { ...sortColumn("email", sortLabels.email), className: "hide-tablet" },
              { label: "Department", className: "hide-narrow" },
              sortColumn("source", sortLabels.source),
              "Tags",
              { label: "Status", className: "hide-tablet" },
              sortColumn("updatedAt", sortLabels.updatedAt),
            ]}
          >
            {data.items.map((user) => (
              <tr
                key={user.id}
                className={selected.has(user.id) ? "is-selected" : undefined}
                onClick={(e) => !(e.target as HTMLElement).closest("a,button,input,.cell-check") && navigate(wsPath(workspace, `/users/${user.id}`))}
              >
                {canChange ? (
                  <td className="cell-check" data-label="Select">
                    <input type="checkbox" aria-label={`Select ${user.displayName}`} checked={selected.has(user.id)} disabled={users.loading} onChange={() => toggle(user)} />
                  </td>
                ) : null}
                <td data-label="Name" className="cell-name">
                  <div className="with-avatar">
                    <UserAvatar workspace={workspace} user={user} />
                    <div>
                      <Link to={wsPath(workspace, `/users/${user.id}`)} className="strong" dir="auto">
                        {user.displayName}
                      </Link>
                      {user.jobTitle ? <div className="muted small"><bdi>{user.jobTitle}</bdi></div> : null}
                      <div className="muted small only-tablet">{user.email ?? user.userPrincipalName}</div>
                    </div>
                  </div>
                </td>
                <td data-label="Email" className="truncate hide-tablet" title={user.email ?? user.userPrincipalName ?? undefined}>
                  {user.email ?? user.userPrincipalName ?? "—"}
                </td>
                <td data-label="Department" className="hide-narrow">
                  {user.department ?? "—"}
                </td>
                <td data-label="Source">{sourceLabel(user)}</td>
                <td data-label="Tags">
                  <span className="tags">
                    {user.tags.map((t) => (
                      <Badge key={t} tone={tagTone(t)}>
                        {t}
                      </Badge>
                    ))}
                    <span className="only-tablet">
                      <StatusBadge user={user} />
                    </span>
                  </span>
                </td>
                <td data-label="Status" className="hide-tablet">
                  <StatusBadge user={user} />
                </td>
                <td data-label="Updated" className="nowrap" title={formatDate(user.updatedAt)}>
                  {relativeTime(user.updatedAt)}
                </td>
              </tr>
            ))}
          </DataTable>
        )
      ) : null}
      {data ? <QueryPager offset={data.offset} limit={pageSize} total={data.total} /> : null}

      <UserFormDialog
        workspace={workspace}
        open={adding}
        onClose={() => setAdding(false)}
        onSaved={(user, warnings) => {
          setAdding(false);
          rememberSaveWarnings(user.id, warnings);
          navigate(wsPath(workspace, `/users/${user.id}`));
        }}
      />
    </div>
  );
}

/**
 * Ticks every row of the page, or clears the selection once they all are; half-ticked while only some are. Disabled
 * while a page loads, whose rows would not be the ones shown.
 */
function PageCheckbox({ checked, some, disabled, onChange }: { checked: boolean; some: boolean; disabled: boolean; onChange: () => void }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = some && !checked;
  }, [some, checked]);
  return <input ref={ref} type="checkbox" aria-label="Select every user on this page" checked={checked} disabled={disabled} onChange={onChange} />;
}
