import { api, ws } from "../api.ts";
import { setQuery } from "../router.tsx";
import { useLoad } from "../hooks.ts";

export interface DepartmentCount {
  department: string;
  users: number;
}

/**
 * The Users page's Department filter: the workspace's departments as its users have them, with how many users each.
 * Users without a department are in none (the filter cannot pick them).
 */
export function DepartmentFilter({ workspace, value }: { workspace: string; value: string }) {
  const departments = useLoad(
    (signal) => api.get<{ items: DepartmentCount[] }>(ws(workspace, "/users/departments"), undefined, { signal }).then((r) => r.items, (): DepartmentCount[] => []),
    [workspace],
  );
  const items = departments.data ?? [];
  // One from the address that the list (not loaded yet, or since changed) does not have is still shown as chosen.
  const listed = items.some((d) => d.department.toLowerCase() === value.toLowerCase());
  const selected = items.find((d) => d.department.toLowerCase() === value.toLowerCase())?.department ?? value;
  return (
    <div className="field">
      <label htmlFor="filter-department">Department</label>
      <select id="filter-department" value={selected} onChange={(e) => setQuery({ department: e.target.value || null, offset: null })}>
        <option value="">Any department</option>
        {items.map((d) => (
          <option key={d.department} value={d.department}>
            {d.department} ({d.users.toLocaleString()})
          </option>
        ))}
        {value && !listed ? <option value={value}>{value}</option> : null}
      </select>
    </div>
  );
}
