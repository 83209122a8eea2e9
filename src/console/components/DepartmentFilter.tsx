import { api, ws } from "../api.ts";
import { setQuery } from "../router.tsx";
import { useLoad } from "../hooks.ts";

export interface DepartmentCount {
  department: string;
  users: number;
}

const without = "without";

/**
 * The Users page's Department filter: the workspace's departments as its users have them, with how many users each,
 * and the users without one (`hasDepartment=false`). Values are `name:…` so that no department's name is taken for "without".
 * The counts load again when `usersChanged` does (after a bulk action on the page, which may delete or move users).
 */
export function DepartmentFilter({ workspace, department, hasDepartment, usersChanged }: { workspace: string; department: string; hasDepartment: string; usersChanged: number }) {
  const departments = useLoad(
    (signal) => api.get<{ items: DepartmentCount[]; withoutDepartment: number }>(ws(workspace, "/users/departments"), undefined, { signal }).catch(() => ({ items: [], withoutDepartment: 0 })),
    [workspace, usersChanged],
  );
  const items = departments.data?.items ?? [];
  // One from the address that the list (not loaded yet, or since changed) does not have is still shown as chosen.
  const listed = items.find((d) => d.department.toLowerCase() === department.toLowerCase());
  const value = department ? `name:${listed?.department ?? department}` : hasDepartment === "false" ? without : "";
  const withoutCount = departments.data?.withoutDepartment;
  return (
    <div className="field">
      <label htmlFor="filter-department">Department</label>
      <select
        id="filter-department"
        value={value}
        onChange={(e) => {
          const picked = e.target.value;
          setQuery({ department: picked.startsWith("name:") ? picked.slice(5) : null, hasDepartment: picked === without ? "false" : null, offset: null });
        }}
      >
        <option value="">Any department</option>
        {items.map((d) => (
          <option key={d.department} value={`name:${d.department}`}>
            {d.department} ({d.users.toLocaleString()})
          </option>
        ))}
        {department && !listed ? <option value={`name:${department}`}>{department}</option> : null}
        {withoutCount || hasDepartment === "false" ? <option value={without}>No department{withoutCount ? ` (${withoutCount.toLocaleString()})` : ""}</option> : null}
      </select>
    </div>
  );
}
