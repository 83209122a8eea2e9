import { api, ws } from "../api.ts";
import { setQuery } from "../router.tsx";
import { useLoad } from "../hooks.ts";
import type { TagCount } from "../../storage/queries/user-tags.ts";

export type { TagCount };

/**
 * The workspace's tags with their counts, read when `wanted`; `refresh` reads them again (after a bulk action changed
 * them). None if they cannot be read: they are suggestions, the filter and the dialog work without.
 */
export function useWorkspaceTags(workspace: string, refresh: unknown, wanted = true) {
  return useLoad(
    (signal) =>
      wanted ? api.get<{ items: TagCount[] }>(ws(workspace, "/users/tags"), undefined, { signal }).then((r) => r.items).catch((): TagCount[] => []) : Promise.resolve([]),
    [workspace, refresh, wanted],
  );
}

/**
 * The Users page's Tag filter: the tags the workspace's users hold, with how many users each, sources' own (ID synced,
 * Imported, Manual) apart from those given here. A tag is one whatever its case, as the filter matches it.
 */
export function TagFilter({ workspace, tag, refresh }: { workspace: string; tag: string; refresh: number }) {
  const tags = useWorkspaceTags(workspace, refresh).data ?? [];
  // One from the address that the list (not loaded yet, or since changed) does not have is still shown as chosen.
  const listed = tags.find((t) => t.tag.toLowerCase() === tag.toLowerCase());
  const option = (t: TagCount) => (
    <option key={t.tag} value={t.tag}>
      {t.tag} ({t.users.toLocaleString()})
    </option>
  );
  const given = tags.filter((t) => !t.source);
  return (
    <div className="field">
      <label htmlFor="filter-tag">Tag</label>
      <select id="filter-tag" value={listed?.tag ?? tag} onChange={(e) => setQuery({ tag: e.target.value || null, offset: null })}>
        <option value="">Any tag</option>
        {tags.some((t) => t.source) ? <optgroup label="Sources' tags">{tags.filter((t) => t.source).map(option)}</optgroup> : null}
        {given.length ? <optgroup label="Tags given here">{given.map(option)}</optgroup> : null}
        {tag && !listed ? <option value={tag}>{tag}</option> : null}
      </select>
    </div>
  );
}
