import { useId, useState, type KeyboardEvent } from "react";
import { syncApi, type DirectoryGroup } from "../sync-api.ts";
import { ErrorBanner, Spinner } from "./ui.tsx";

/**
 * Finds groups in the source's Entra ID tenant (with its saved credential) so the admin picks names that exist
 * instead of typing them: each found group can be added to the list beside it.
 */
export function GroupPicker({ workspace, source, picked, onPick }: { workspace: string; source: string; picked: string; onPick: (name: string) => void }) {
  const id = useId();
  const [q, setQ] = useState("");
  const [found, setFound] = useState<{ q: string; items: DirectoryGroup[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const listed = new Set(picked.split("\n").map((line) => line.trim().toLowerCase()));
  const search = async () => {
    setBusy(true);
    setError(null);
    try {
      setFound({ q, items: (await syncApi.findGroups(workspace, source, q)).items });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  // Enter searches here, instead of submitting the source form around it.
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    void search();
  };
  return (
    <div className="group-picker">
      <label htmlFor={id} className="small">
        Find groups in Entra ID
      </label>
      <div className="inline-form">
        <input id={id} type="search" value={q} placeholder="Start of a group's name" onChange={(e) => setQ(e.target.value)} onKeyDown={onKeyDown} />
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => void search()}>
          {busy ? <Spinner label="Searching" /> : null} Find
        </button>
      </div>
      <ErrorBanner error={error} title="The groups could not be listed." />
      {found && !found.items.length ? <p className="muted small">No group’s name starts with “{found.q}”.</p> : null}
      {found?.items.length ? (
        <ul className="plain-list" aria-label="Groups found">
          {found.items.map((g) => {
            const added = listed.has(g.displayName.toLowerCase());
            return (
              <li key={g.id}>
                {/* aria-disabled, not disabled: a disabled button drops the keyboard focus to the page as it is added. */}
                <button type="button" className="btn btn-small" aria-disabled={added || undefined} onClick={() => added || onPick(g.displayName)} aria-label={`Add ${g.displayName}`}>
                  {added ? "Added" : "Add"}
                </button>{" "}
                {g.displayName} {g.description ? <span className="muted small">{g.description}</span> : null}
              </li>
            );
          })}
        </ul>
      ) : null}
    </div>
  );
}
