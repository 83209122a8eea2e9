/** What the Users page's selection, or `rollcall users disable A B C`, does to every user in it at once. */
export const bulkActions = ["disable", "enable", "delete", "addToGroup", "removeFromGroup"] as const;
export type BulkAction = (typeof bulkActions)[number];

/** Users named one by one in a request; and users a filter may select (the Users page's "all matching"). */
export const maxBulkUsers = 1000;
export const maxBulkMatching = 10_000;

export interface BulkResult {
  action: BulkAction;
  group: string | null;
  /** Users the action changed, and those it found already so (already disabled, already a member…). */
  changed: number;
  unchanged: number;
  users: { id: string; subject: string; changed: boolean }[];
}
