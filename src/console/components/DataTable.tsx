import type { ReactNode } from "react";
import { setQuery } from "../router.tsx";
import { Pager } from "./ui.tsx";

export interface Column {
  label: ReactNode;
  className?: string;
  /** For a column the table is sortable by. */
  sort?: "ascending" | "descending" | "none";
}

/** A column with no visible heading (row actions), still named for screen readers. */
export const actionsColumn: Column = { label: <span className="visually-hidden">Actions</span> };

/**
 * The console's data table: the scrolling wrapper (dimmed while the next page loads), the headings, and
 * the rows the page renders. At phone width each cell shows its `data-label` instead of the heading.
 */
export function DataTable({
  columns,
  children,
  className,
  loading,
  labelledBy,
  caption,
}: {
  columns: (string | Column)[];
  children: ReactNode;
  className?: string;
  loading?: boolean;
  labelledBy?: string;
  caption?: string;
}) {
  return (
    <div className={`table-wrap${loading ? " is-loading" : ""}`} aria-busy={loading}>
      <table className={className ? `table ${className}` : "table"} aria-labelledby={labelledBy}>
        {caption ? <caption className="visually-hidden">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((column, i) => {
              const { label, className: cell, sort }: Column = typeof column === "string" ? { label: column } : column;
              return (
                <th key={i} scope="col" className={cell} aria-sort={sort}>
                  {label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** The pager of a table whose page lives in the URL's `offset` (so the back button pages back); none for an empty table. */
export function QueryPager({ offset, limit, total }: { offset: number; limit: number; total: number }) {
  return total > 0 ? <Pager offset={offset} limit={limit} total={total} onChange={(o) => setQuery({ offset: o || null }, { push: true })} /> : null;
}
