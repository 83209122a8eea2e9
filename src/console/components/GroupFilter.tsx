import { useState } from "react";
import { api, ws } from "../api.ts";
import { setQuery } from "../router.tsx";
import type { Group, PageOf } from "../types.ts";
import { useDebounced, useLoad } from "../hooks.ts";
import { TextField } from "./ui.tsx";

/**
 * The Users page's Group filter: finds groups by name as the admin types (on the server: a workspace may
 * hold thousands); a name picked from the list, or typed in full and entered, filters by that group.
 */
export function GroupFilter({ workspace }: { workspace: string }) {
  const [text, setText] = useState("");
  const [missing, setMissing] = useState<string | null>(null);
  const typed = useDebounced(text.trim(), 200);
  const found = useLoad((signal) => (typed ? api.get<PageOf<Group>>(ws(workspace, "/groups"), { q: typed, limit: 20 }, { signal }).then((r) => r.items) : Promise.resolve([])), [workspace, typed]);
  /** Filters by the group named exactly (in any case), as the server finds it. */
  const pick = async (name: string) => {
    if (!name.trim()) return;
    const [group] = (await api.get<PageOf<Group>>(ws(workspace, "/groups"), { name: name.trim(), limit: 1 })).items;
    if (group) setQuery({ group: group.name, offset: null });
    // Entered, a name no group has says so: the list unchanged would look like a filter that matched everyone.
    else setMissing(`No group is named "${name.trim()}": pick one from the list as you type.`);
  };
  const apply = (name: string) => void pick(name).catch(() => {}); // a failed look-up applies nothing, as a name that matches none
  return (
    <>
      <TextField
        label="Group"
        type="search"
        list="filter-group-names"
        value={text}
        placeholder="Any group"
        autoComplete="off"
        error={missing ?? undefined}
        onChange={(e) => {
          setText(e.target.value);
          setMissing(null);
          // A name picked from the list applies at once; typed text waits for Enter (it may be the start of a longer name).
          const inputType = (e.nativeEvent as InputEvent).inputType;
          if (!inputType || inputType === "insertReplacementText") apply(e.target.value);
        }}
        onKeyDown={(e) => e.key === "Enter" && apply(text)}
      />
      <datalist id="filter-group-names">
        {(found.data ?? []).map((g) => (
          <option key={g.id} value={g.name} />
        ))}
      </datalist>
    </>
  );
}
