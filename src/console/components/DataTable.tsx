import { useEffect, type ReactNode } from "react";
import { setQuery } from "../router.tsx";
import type { PageOf } from "../types.ts";
import { Pager, lastPageOffset } from "./ui.tsx";

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

/**
 * Keeps the URL's `offset` on a page that has items: when a page of the listing comes back empty past its
 * start (a deep link beyond the end, or the last page's rows just deleted), the URL steps back to the last
 * page. True until that page has loaded, so the screen shows neither "No users match" beside a count of 50
 * nor a pager saying "51–50 of 50".
 */
export function useOffsetInRange(page: PageOf<unknown> | undefined, limit: number): boolean {
  const beyond = page !== undefined && page.items.length === 0 && page.offset > 0;
  const total = page?.total ?? 0;
  useEffect(() => {
    if (beyond) setQuery({ offset: lastPageOffset(total, limit) || null });
  }, [beyond, total, limit]);
  return beyond;
}
