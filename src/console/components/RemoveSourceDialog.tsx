import { useState } from "react";
import { navigate } from "../router.tsx";
import { useWorkspaceName, wsPath } from "../session.tsx";
import { syncApi, type RemovedSource, type SourceRemoval } from "../sync-api.ts";
import { ConfirmDialog } from "./dialog.tsx";
import { useToast } from "./ui.tsx";

const removalChoices = [
  { value: "keep", label: "Keep them", hint: "They stay as they are, managed in Rollcall from now on: you can edit them here." },
  { value: "disable", label: "Keep them, disabled", hint: "As above, but no user can sign in or badge until you enable them." },
  { value: "delete", label: "Delete them", hint: "Users and groups are deleted with their cards, aliases and memberships." },
] as const satisfies { value: SourceRemoval; label: string; hint: string }[];

type Removed = Pick<RemovedSource, "name" | "removal">;

/** What removing a source did, in a toast. */
function removedText({ name, removal }: Removed): string {
  const kept = removal.usersKept ? ` (${removal.usersKept.toLocaleString()} it had linked kept)` : "";
  return `Source ${name} removed; ${removal.usersAffected.toLocaleString()} users ${removal.users === "delete" ? `deleted${kept}` : removal.users === "disable" ? "kept, disabled" : "kept"}`;
}

/**
 * Removing an Entra ID or a SCIM source, saying what becomes of its users and groups (core/source-removal.ts); once
 * removed, a toast says what it did and the User synchronization page is shown.
 */
export function RemoveSourceDialog({ open, source, onClose }: { open: boolean; source: { name: string; type: "entra" | "scim"; users: number; groups: number }; onClose: () => void }) {
  const workspace = useWorkspaceName();
  const toast = useToast();
  const [users, setUsers] = useState<SourceRemoval>("keep");
  const scim = source.type === "scim";
  return (
    <ConfirmDialog
      open={open}
      title={`Remove source ${source.name}?`}
      confirmLabel={users === "delete" ? `Remove source and delete ${source.users.toLocaleString()} users` : "Remove source"}
      danger
      onClose={onClose}
      onConfirm={async () => {
        toast(removedText(await syncApi.removeSource(workspace, source.name, users)));
        navigate(wsPath(workspace, "/sync"));
      }}
    >
      <p>
        {scim
          ? "The source and its Secret Token are removed: Entra ID's provisioning service is refused from then on, so turn its provisioning off in the Azure portal."
          : "The source's settings, secret and run history are removed, and nothing is synced from this tenant any more."}
      </p>
      <fieldset className="choices">
        <legend>
          Its {source.users.toLocaleString()} users and {source.groups.toLocaleString()} groups
        </legend>
        {removalChoices.map((c) => (
          <div className="field field-check" key={c.value}>
            <input type="radio" id={`removal-${c.value}`} name="removal" value={c.value} checked={users === c.value} onChange={() => setUsers(c.value)} aria-describedby={`removal-${c.value}-hint`} />
            <label htmlFor={`removal-${c.value}`}>{c.label}</label>
            <div className="hint" id={`removal-${c.value}-hint`}>
              {c.hint}
            </div>
          </div>
        ))}
      </fieldset>
      {users === "delete" ? null : (
        <p className="muted small">
          {scim
            ? "Kept users and groups are managed here from then on: a SCIM source added later links a kept user again when Entra ID provisions the same address."
            : "Kept users and groups remember their Entra object ID: a source added later for the same tenant takes them back."}
        </p>
      )}
    </ConfirmDialog>
  );
}
