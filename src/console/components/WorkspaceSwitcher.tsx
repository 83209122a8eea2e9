import { useState } from "react";
import { api } from "../api.ts";
import { Link, navigate, useLocation } from "../router.tsx";
import { useSession, wsPath } from "../session.tsx";
import type { Workspace } from "../types.ts";
import { TextField } from "./ui.tsx";
import { Dialog } from "./dialog.tsx";
import { useSubmit, FormError, FormActions } from "./form.tsx";

/** The sections of a workspace's pages (/w/:ws/<section>), each the same kind of page in every workspace. */
const sections = ["users", "groups", "sync", "import", "notifications", "activity", "settings", "profile"];

/**
 * The page of the other workspace to switch to: the same section (a user's page becomes the Users page, a
 * run's the synchronization page, where its runs are listed).
 */
function sameKindOfPage(section: string): string {
  if (section === "runs") return "sync";
  return sections.includes(section) ? section : "users";
}

export function WorkspaceSwitcher() {
  const session = useSession();
  const location = useLocation();
  const [creating, setCreating] = useState(false);
  const current = session.workspace?.name ?? "";
  const keep = sameKindOfPage(location.path.split("/")[3] ?? "users");

  return (
    <div className="ws-switcher">
      <label htmlFor="ws-select">Workspace</label>
      <select
        id="ws-select"
        value={current}
        onChange={(e) => {
          if (e.target.value === "__new") setCreating(true);
          else navigate(wsPath(e.target.value, `/${keep}`));
        }}
      >
        {current ? null : <option value="">Choose…</option>}
        {session.workspaces.map((w) => (
          <option key={w.id} value={w.name}>
            {w.name}
          </option>
        ))}
        {session.account.isOwner ? <option value="__new">+ New workspace…</option> : null}
      </select>
      {session.workspaces.length > 1 ? (
        <Link to="/workspaces" className="ws-all" aria-current={location.path === "/workspaces" ? "page" : undefined}>
          All workspaces
        </Link>
      ) : null}
      <NewWorkspaceDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={async (w) => {
          await session.reloadWorkspaces();
          setCreating(false);
          navigate(wsPath(w.name, "/users"));
        }}
      />
    </div>
  );
}

function NewWorkspaceDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (w: Workspace) => Promise<void> }) {
  const [name, setName] = useState("");
  const [country, setCountry] = useState("");
  const { busy, error, fields, submit } = useSubmit(async () => {
    const created = await api.post<Workspace>("/workspaces", { name: name.trim(), defaultCountry: country.trim() || null });
    setName("");
    setCountry("");
    await onCreated(created);
  });
  return (
    <Dialog open={open} title="New workspace" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p className="muted">A workspace is one application's user directory, with its own sources, users, groups and tokens.</p>
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={fields.name} hint="Letters, digits, '.', '_' or '-'." required />
        <TextField
          label="Default country"
          value={country}
          onChange={(e) => setCountry(e.target.value.toUpperCase())}
          error={fields.defaultCountry}
          hint="Two letters (e.g. US, GB, DE); phone numbers without a country code are read as this country's."
          maxLength={2}
        />
        <FormError error={error} fields={fields} />
        <FormActions busy={busy} label="Create workspace" busyLabel="Creating" disabled={!name.trim()} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
