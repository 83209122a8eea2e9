import { useId, useState } from "react";
import { api, ApiError, ws } from "../api.ts";
import { systemTags, type Group, type PageOf, type User } from "../types.ts";
import { useWorkspaceTags, type TagCount } from "./TagFilter.tsx";
import type { UserFilter } from "../../storage/queries/users.ts";
import type { BulkAction, BulkResult } from "../../domain/bulk.ts";
import { useDebounced, useLoad } from "../hooks.ts";
import { TextField, useToast } from "./ui.tsx";
import { ConfirmDialog } from "./dialog.tsx";
import { countOf, isolate } from "../format.ts";

type Pending = BulkAction | null;

/** What a bulk action did, in a toast: "Disabled 3 users; 1 was already disabled". */
export function bulkSummary(result: BulkResult): string {
  const done = {
    disable: ["Disabled", "already disabled"],
    enable: ["Enabled", "already enabled"],
    delete: ["Deleted", ""],
    addToGroup: [`Added to ${isolate(result.group ?? "")}:`, result.unchanged === 1 ? "already a member" : "already members"],
    removeFromGroup: [`Removed from ${isolate(result.group ?? "")}:`, result.unchanged === 1 ? "not a member" : "not members"],
    addTag: [`Tagged ${isolate(result.tag ?? "")}:`, "already tagged"],
    removeTag: [`Removed tag ${isolate(result.tag ?? "")} from`, "did not have it"],
  }[result.action];
  return `${done[0]} ${countOf(result.changed, "user")}${result.unchanged ? `; ${result.unchanged.toLocaleString()} ${done[1]}` : ""}`;
}

const verbs = { disable: "Disable", enable: "Enable", delete: "Delete" } as const;

/**
 * The Users page's toolbar for the rows an admin ticked: one request for the whole selection, which the
 * server applies all or nothing.
 */
export function BulkActions({
  workspace,
  selected,
  matching,
  offerMatching,
  onDone,
  onClear,
}: {
  workspace: string;
  selected: User[];
  /** Every user the page's filters match is selected, not only the ticked rows. */
  matching: { filter: UserFilter; total: number } | null;
  /** Offered once every row of the page is ticked and more users match than the page shows. */
  offerMatching: { total: number; select: () => void } | null;
  onDone: () => void;
  onClear: () => void;
}) {
  const toast = useToast();
  const [pending, setPending] = useState<Pending>(null);
  const [group, setGroup] = useState("");
  const [groupError, setGroupError] = useState<string | undefined>();
  const groupList = useId();
  const [tag, setTag] = useState("");
  const [tagError, setTagError] = useState<string | undefined>();
  const tagList = useId();
  // Read each time the tag dialog opens, so that it offers the tags a previous action just gave.
  const workspaceTags = useWorkspaceTags(workspace, pending, pending === "addTag" || pending === "removeTag");
  // Suggestions come from the server as the admin types: a workspace may hold thousands of groups.
  const typed = useDebounced(group.trim(), 200);
  const groups = useLoad(
    (signal) =>
      pending === "addToGroup" || pending === "removeFromGroup"
        ? api.get<PageOf<Group>>(ws(workspace, "/groups"), { q: typed || undefined, sourceType: "manual,import", limit: 20 }, { signal })
        : Promise.resolve(null),
    [workspace, pending, typed],
  );
  const editableGroups = groups.data?.items ?? [];
  // Every matching user is counted again as the admin is asked: the page's count may be older than what the server will change.
  const filterKey = matching ? JSON.stringify(matching.filter) : null;
  const recounted = useLoad(
    (signal) =>
      pending && matching
        ? api
            .get<PageOf<User>>(ws(workspace, "/users"), { ...matching.filter, limit: 1 }, { signal })
            .then((page) => page.total)
        : Promise.resolve(null),
    [workspace, pending, filterKey],
  );
  const count = matching ? (recounted.data ?? matching.total) : selected.length;
  const counted = countOf(count, "user");
  const synced = matching ? null : selected.filter((u) => u.source.type === "entra").length;

  const run = async (action: BulkAction, extra: { group?: string; tag?: string } = {}) => {
    const target = matching ? { filter: matching.filter } : { users: selected.map((u) => u.id) };
    const result = await api.post<BulkResult>(ws(workspace, "/users/bulk"), { action, ...target, ...extra });
    toast(bulkSummary(result));
    onDone();
  };
  const close = () => {
    setPending(null);
    setGroup("");
    setGroupError(undefined);
    setTag("");
    setTagError(undefined);
  };
  /** Adds to or removes from the group typed; the server's word on a missing or unusable group is said at the field. */
  const runWithGroup = async (action: BulkAction) => {
    try {
      await run(action, { group });
    } catch (e) {
      const problem = e instanceof ApiError && (e.fieldMap().group ?? (e.details.field === "group" || e.details.resource === "group" ? e.message : undefined));
      if (!problem) throw e;
      setGroupError(problem);
      return false;
    }
  };
  /** Adds or removes the tag typed; the server's word on it (too long, a source's tag, a user with too many) is said at the field. */
  const runWithTag = async (action: BulkAction) => {
    try {
      await run(action, { tag });
    } catch (e) {
      const problem = e instanceof ApiError && e.fieldMap().tag;
      if (!problem) throw e;
      setTagError(problem);
      return false;
    }
  };
  const comesBack = pending === "delete" ? " (a deleted user comes back)" : "";
  const syncedNote =
    synced === null ? (
      <p className="banner banner-info">Users synced from Entra ID among them are set back by the next sync to what Entra ID says{comesBack}; change them in Entra ID to keep the change.</p>
    ) : synced ? (
      <p className="banner banner-info">
        {countOf(synced, "user")} of these {synced === 1 ? "is" : "are"} synced from Entra ID: the next sync sets {synced === 1 ? "it" : "them"} back to what Entra ID says
        {comesBack}. Change {synced === 1 ? "it" : "them"} in Entra ID to keep the change.
      </p>
    ) : null;
  const toGroup = pending === "addToGroup" || pending === "removeFromGroup";
  const tagging = pending === "addTag" || pending === "removeTag";
  const suggestedTags = tagSuggestions(pending, selected, matching !== null, workspaceTags.data ?? []);

  return (
    <div className="bulk-bar" role="group" aria-label="Selected users">
      <strong role="status">{matching ? `All ${countOf(matching.total, "matching user")} selected` : `${counted} selected`}</strong>
      {offerMatching ? (
        <button type="button" className="btn btn-link" onClick={offerMatching.select}>
          Select all {countOf(offerMatching.total, "matching user")}
        </button>
      ) : null}
      <button type="button" className="btn btn-small" onClick={() => setPending("disable")}>
        Disable
      </button>
      <button
        type="button"
        className="btn btn-small"
        // Ticked users are enabled at once; every user a filter matches (maybe tens of thousands) only once confirmed.
        onClick={() => (matching ? setPending("enable") : void run("enable").catch((e: unknown) => toast(e instanceof Error ? e.message : String(e), "bad")))}
      >
        Enable
      </button>
      <button type="button" className="btn btn-small" onClick={() => setPending("addToGroup")}>
        Add to group…
      </button>
      <button type="button" className="btn btn-small" onClick={() => setPending("removeFromGroup")}>
        Remove from group…
      </button>
      <button type="button" className="btn btn-small" onClick={() => setPending("addTag")}>
        Add tag…
      </button>
      <button type="button" className="btn btn-small" onClick={() => setPending("removeTag")}>
        Remove tag…
      </button>
      <button type="button" className="btn btn-small btn-danger" onClick={() => setPending("delete")}>
        Delete…
      </button>
      <button type="button" className="btn btn-link" onClick={onClear}>
        Clear selection
      </button>

      <ConfirmDialog
        open={pending === "disable" || pending === "enable" || pending === "delete"}
        title={`${verbs[pending === "enable" || pending === "delete" ? pending : "disable"]} ${counted}?`}
        confirmLabel={`${verbs[pending === "enable" || pending === "delete" ? pending : "disable"]} ${counted}`}
        danger={pending === "delete"}
        onConfirm={() => run(pending!)}
        onClose={close}
      >
        <p>
          {pending === "delete"
            ? "They are removed from the directory with their cards, PINs and memberships. Their history stays in the workspace's activity."
            : pending === "enable"
              ? "Enabled users can sign in again. Those already enabled are left as they are."
              : "Disabled users keep their record, groups and history but can no longer sign in."}
        </p>
        {syncedNote}
      </ConfirmDialog>

      <ConfirmDialog
        open={toGroup}
        title={pending === "addToGroup" ? `Add ${counted} to a group` : `Remove ${counted} from a group`}
        confirmLabel={pending === "addToGroup" ? "Add to group" : "Remove from group"}
        onConfirm={() => runWithGroup(pending!)}
        onClose={close}
      >
        <TextField
          label="Group"
          list={groupList}
          value={group}
          error={groupError}
          onChange={(e) => {
            setGroup(e.target.value);
            setGroupError(undefined);
          }}
          autoComplete="off"
          placeholder="A group's name"
          hint="Groups synced from Entra ID take their members from Entra ID and are not offered."
        />
        <datalist id={groupList}>
          {editableGroups.map((g) => (
            <option key={g.id} value={g.name} />
          ))}
        </datalist>
      </ConfirmDialog>

      <ConfirmDialog
        open={tagging}
        title={pending === "addTag" ? `Tag ${counted}` : `Remove a tag from ${counted}`}
        confirmLabel={pending === "addTag" ? `Add tag to ${counted}` : `Remove tag from ${counted}`}
        onConfirm={() => runWithTag(pending!)}
        onClose={close}
      >
        <TextField
          label="Tag"
          list={tagList}
          value={tag}
          error={tagError}
          onChange={(e) => {
            setTag(e.target.value);
            setTagError(undefined);
          }}
          autoComplete="off"
          maxLength={64}
          placeholder="A tag, e.g. Night shift"
          hint={
            pending === "addTag"
              ? "Users who have it already are left as they are. Source tags (ID synced, Imported, Manual) are set by Rollcall and cannot be added."
              : "Users without it are left as they are. Source tags (ID synced, Imported, Manual) are set by Rollcall and cannot be removed."
          }
        />
        <datalist id={tagList}>
          {suggestedTags.map((t) => (
            <option key={t.tag} value={t.tag} label={t.users === null ? undefined : countOf(t.users, "user")} />
          ))}
        </datalist>
      </ConfirmDialog>
    </div>
  );
}

/**
 * The tags the tag dialog offers (never a source's, which it refuses): to add, the workspace's, with how many users
 * hold each; to remove, the ticked users' own, or the workspace's when every matching user is selected.
 */
export function tagSuggestions(pending: Pending, selected: User[], allMatching: boolean, workspaceTags: TagCount[]): { tag: string; users: number | null }[] {
  const given = workspaceTags.filter((t) => !t.source).map((t) => ({ tag: t.tag, users: t.users as number | null }));
  const own = [...new Set(selected.flatMap((u) => u.tags))].filter((t) => !isSourceTag(t)).sort((a, b) => a.localeCompare(b));
  if (pending === "removeTag" && !allMatching) return own.map((tag) => ({ tag, users: null }));
  // And the ticked users' own that the list lacks (not loaded yet, or read before they were given).
  const known = new Set(given.map((t) => t.tag.toLowerCase()));
  return [...given, ...own.filter((t) => !known.has(t.toLowerCase())).map((tag) => ({ tag, users: null }))];
}

const isSourceTag = (tag: string) => (systemTags as readonly string[]).some((t) => t.toLowerCase() === tag.toLowerCase());
