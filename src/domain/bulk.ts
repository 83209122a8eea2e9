/** What the Users page's selection, or `rollcall users disable A B C`, does to every user in it at once. */
export const bulkActions = ["disable", "enable", "delete", "addToGroup", "removeFromGroup", "addTag", "removeTag"] as const;
export type BulkAction = (typeof bulkActions)[number];

/** Users named one by one in a request. A filter selects any number (the Users page's "all matching"). */
export const maxBulkUsers = 1000;
/** The users a filter's answer lists, of however many it changed: the answer for 100,000 stays a few kilobytes. */
export const maxBulkListed = 100;

export interface BulkResult {
  action: BulkAction;
  group: string | null;
  /** The tag of addTag and removeTag, as given (trimmed). */
  tag: string | null;
  /** Users the action changed, and those it found already so (already disabled, already a member, already tagged…). */
  changed: number;
  unchanged: number;
  /** Named users: each of them, in the order given. A filter's: the first maxBulkListed by display name. */
  users: { id: string; subject: string; changed: boolean }[];
  /** How many selected users `users` leaves out (0 when users were named). */
  more: number;
}
