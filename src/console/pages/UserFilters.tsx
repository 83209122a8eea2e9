import { useQuerySearch, useLoad } from "../hooks.ts";
import { setQuery } from "../router.tsx";
import { syncApi, type Source } from "../sync-api.ts";
import { systemTags } from "../types.ts";
import { GroupFilter } from "../components/GroupFilter.tsx";
import { DepartmentFilter } from "../components/DepartmentFilter.tsx";

const phoneSorts: [string, string][] = [
  ["displayName:asc", "Name, A to Z"],
  ["displayName:desc", "Name, Z to A"],
  ["email:asc", "Email"],
  ["source:asc", "Source"],
  ["updatedAt:desc", "Recently updated"],
  ["createdAt:desc", "Newest first"],
];

/**
 * The Users page's filters, each kept in the address's query: search, source, tag, status, department, group, and on a
 * phone the order. `usersChanged` counts the page's changes to many users at once (bulk actions): the counts shown reload with it.
 */
export function UserFilters({ workspace, query, sort, order, usersChanged }: { workspace: string; query: UserQuery; sort: string; order: "asc" | "desc"; usersChanged: number }) {
  const { q, source, sourceType, tag, enabled, group, department, hasDepartment } = query;
  const [search, setSearch] = useQuerySearch(q);
  const sources = useLoad(
    (signal) =>
      syncApi.listSources(workspace, signal).catch((): Source[] => []),
    [workspace],
  );
  const filtered = isFiltered(query);
  const sourceValue = source ? `name:${source}` : sourceType ? `type:${sourceType}` : "";
  return (
    <div className="filters" role="search" aria-label="Filter users">
      <div className="field field-search">
        <label htmlFor="user-search">Search</label>
        <input
          id="user-search"
          type="search"
          placeholder="Name, email, employee ID, card…"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          autoComplete="off"
        />
      </div>
      <div className="field">
        <label htmlFor="filter-source">Source</label>
        <select
          id="filter-source"
          value={sourceValue}
          onChange={(e) => {
            const [kind, ...rest] = e.target.value.split(":");
            const value = rest.join(":");
            setQuery({ source: kind === "name" ? value : null, sourceType: kind === "type" ? value : null, offset: null });
          }}
        >
          <option value="">All sources</option>
          <option value="type:manual">Managed here (added by hand, or kept from a removed source)</option>
          <option value="type:import">Imported</option>
          <option value="type:entra">Any Entra ID source</option>
          {(sources.data ?? []).map((s) => (
            <option key={s.name} value={`name:${s.name}`}>
              Entra ID: {s.name}
            </option>
          ))}
          {source && !(sources.data ?? []).some((s) => s.name === source) ? <option value={`name:${source}`}>{source}</option> : null}
        </select>
      </div>
      <div className="field">
        <label htmlFor="filter-tag">Tag</label>
        <select id="filter-tag" value={tag} onChange={(e) => setQuery({ tag: e.target.value, offset: null })}>
          <option value="">Any tag</option>
          {systemTags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
          {tag && !(systemTags as readonly string[]).includes(tag) ? <option value={tag}>{tag}</option> : null}
        </select>
      </div>
      <div className="field">
        <label htmlFor="filter-enabled">Status</label>
        <select id="filter-enabled" value={enabled} onChange={(e) => setQuery({ enabled: e.target.value, offset: null })}>
          <option value="">Enabled and disabled</option>
          <option value="true">Enabled</option>
          <option value="false">Disabled</option>
        </select>
      </div>
      <DepartmentFilter workspace={workspace} department={department} hasDepartment={hasDepartment} usersChanged={usersChanged} />
      {/* The table's headings sort it; a phone shows no headings, so the order is chosen here. */}
      <div className="field phone-only">
        <label htmlFor="sort-users">Sort by</label>
        <select id="sort-users" value={`${sort}:${order}`} onChange={(e) => {
          const [column, direction] = e.target.value.split(":");
          setQuery({ sort: column, order: direction, offset: null });
        }}>
          {phoneSorts.map(([value, label]) => (
            <option key={value} value={value}>{label}</option>
          ))}
          {phoneSorts.some(([value]) => value === `${sort}:${order}`) ? null : <option value={`${sort}:${order}`}>{`${sort} ${order === "asc" ? "ascending" : "descending"}`}</option>}
        </select>
      </div>
      {group ? null : <GroupFilter workspace={workspace} />}
      {group ? (
        <div className="chip">
          Group: <strong>{group}</strong>
          <button type="button" className="btn-icon" aria-label={`Remove group filter ${group}`} onClick={() => setQuery({ group: null, offset: null })}>
            ×
          </button>
        </div>
      ) : null}
      {filtered ? (
        <button
          type="button"
          className="btn btn-link"
          onClick={() => {
            setSearch("");
            setQuery({ q: null, source: null, sourceType: null, tag: null, enabled: null, group: null, department: null, hasDepartment: null, offset: null });
          }}
        >
          Clear filters
        </button>
      ) : null}
    </div>
  );
}

/** The filters of the Users page, as its address's query has them ("" when not set). */
export interface UserQuery {
  q: string;
  source: string;
  sourceType: string;
  tag: string;
  enabled: string;
  group: string;
  department: string;
  /** "false": users without a department (the Department filter's "No department"). */
  hasDepartment: string;
}

export function isFiltered({ q, source, sourceType, tag, enabled, group, department, hasDepartment }: UserQuery): boolean {
  return Boolean(q || source || sourceType || tag || enabled || group || department || hasDepartment);
}
