import { useQuerySearch, useLoad } from "../hooks.ts";
import { setQuery } from "../router.tsx";
import { syncApi } from "../sync-api.ts";
import { GroupFilter } from "../components/GroupFilter.tsx";
import { DepartmentFilter } from "../components/DepartmentFilter.tsx";
import { TagFilter } from "../components/TagFilter.tsx";
import { CheckField } from "../components/ui.tsx";

const phoneSorts: [string, string][] = [
  ["displayName:asc", "Name, A to Z"],
  ["displayName:desc", "Name, Z to A"],
  ["email:asc", "Email"],
  ["source:asc", "Source"],
  ["updatedAt:desc", "Recently updated"],
  ["createdAt:desc", "Newest first"],
];

/**
 * The Users page's filters, each kept in the address's query: search, source, tag, status, department, group (and whether its nested groups'
 * members count), and on a phone the order.
 * `refresh` changes when a bulk action may have changed the tags' and departments' counts.
 */
export function UserFilters({ workspace, query, sort, order, refresh }: { workspace: string; query: UserQuery; sort: string; order: "asc" | "desc"; refresh: number }) {
  const { q, source, sourceType, tag, enabled, group, nested, department, hasDepartment } = query;
  const [search, setSearch] = useQuerySearch(q);
  const sources = useLoad(
    (signal) =>
      // Entra ID sources and SCIM sources, in one request: their names are the users' source names.
      syncApi
        .sourceNames(workspace, signal)
        .catch((): { name: string; type: "entra" | "scim" }[] => []),
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
          <option value="type:scim">Any SCIM source (provisioned by Entra ID)</option>
          {(sources.data ?? []).map((s) => (
            <option key={s.name} value={`name:${s.name}`}>
              {s.type === "scim" ? "Entra ID (SCIM)" : "Entra ID"}: {s.name}
            </option>
          ))}
          {source && !(sources.data ?? []).some((s) => s.name === source) ? <option value={`name:${source}`}>{source}</option> : null}
        </select>
      </div>
      <TagFilter workspace={workspace} tag={tag} refresh={refresh} />
      <div className="field">
        <label htmlFor="filter-enabled">Status</label>
        <select id="filter-enabled" value={enabled} onChange={(e) => setQuery({ enabled: e.target.value, offset: null })}>
          <option value="">Enabled and disabled</option>
          <option value="true">Enabled</option>
          <option value="false">Disabled</option>
        </select>
      </div>
      <DepartmentFilter workspace={workspace} department={department} hasDepartment={hasDepartment} refresh={refresh} />
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
          <button type="button" className="btn-icon" aria-label={`Remove group filter ${group}`} onClick={() => setQuery({ group: null, nested: null, offset: null })}>
            ×
          </button>
        </div>
      ) : null}
      {group ? (
        <CheckField label="Include nested groups" checked={nested === "true"} onChange={(e) => setQuery({ nested: e.target.checked ? "true" : null, offset: null })} />
      ) : null}
      {filtered ? (
        <button
          type="button"
          className="btn btn-link"
          onClick={() => {
            setSearch("");
            setQuery({ q: null, source: null, sourceType: null, tag: null, enabled: null, group: null, nested: null, department: null, hasDepartment: null, offset: null });
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
  /** "true": the group's members include those of the groups nested in it (it counts only with a group). */
  nested: string;
  department: string;
  /** "false": users without a department (the Department filter's "No department"). */
  hasDepartment: string;
}

export function isFiltered({ q, source, sourceType, tag, enabled, group, department, hasDepartment }: UserQuery): boolean {
  return Boolean(q || source || sourceType || tag || enabled || group || department || hasDepartment);
}
