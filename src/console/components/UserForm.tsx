import { useMemo, useState } from "react";
import { api, ApiError, ws } from "../api.ts";
import type { User } from "../types.ts";
import { isSyncedSourceType, systemTags } from "../types.ts";
import { CheckField, ErrorBanner, TextArea, TextField } from "./ui.tsx";
import { Dialog, useUnsavedChanges } from "./dialog.tsx";
import { FormActions, useSubmit } from "./form.tsx";
import { DraftNotice, useDraft, useKeepDraft } from "../drafts.tsx";

/** Fields an Entra ID source owns: the server refuses edits to them, so the form shows them read-only. */
const sourceOwned = new Set([
  "userPrincipalName", "email", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId",
  "mobilePhone", "businessPhones", "preferredLanguage",
]);

type Text = "displayName" | "givenName" | "surname" | "email" | "userPrincipalName" | "department" | "jobTitle" | "employeeId" | "mobilePhone" | "preferredLanguage";
type Lists = "businessPhones" | "aliases" | "cardNumbers" | "tags";

interface FormState {
  text: Record<Text, string>;
  lists: Record<Lists, string>;
  enabled: boolean;
  pin: string;
  /** The manager by email (else id). */
  manager: string;
}

/** One value per line, as the fields say: a comma belongs to its value ("Sales, EMEA", "+1 425 555 0100, ext. 5"). */
const lines = (s: string) => s.split("\n").map((x) => x.trim()).filter(Boolean);

function initial(user: User | undefined): FormState {
  const t = (v: string | null | undefined) => v ?? "";
  return {
    text: {
      displayName: t(user?.displayName),
      givenName: t(user?.givenName),
      surname: t(user?.surname),
      email: t(user?.email),
      userPrincipalName: t(user?.userPrincipalName),
      department: t(user?.department),
      jobTitle: t(user?.jobTitle),
      employeeId: t(user?.employeeId),
      mobilePhone: t(user?.mobilePhone),
      preferredLanguage: t(user?.preferredLanguage),
    },
    lists: {
      businessPhones: (user?.businessPhones ?? []).join("\n"),
      aliases: (user?.aliases ?? []).join("\n"),
      cardNumbers: (user?.cardNumbers ?? []).join("\n"),
      tags: (user?.tags ?? []).filter((tag) => !(systemTags as readonly string[]).includes(tag)).join("\n"),
    },
    enabled: user?.enabled ?? true,
    pin: "",
    manager: user?.manager ? (user.manager.email ?? user.manager.id) : "",
  };
}

/** The request body: everything on create; on edit only what changed, so a synced user's owned fields are never sent. */
function body(state: FormState, before: FormState | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(state.text) as [Text, string][]) {
    if (before && before.text[key] === value) continue;
    if (!before && value.trim() === "") continue;
    out[key] = value.trim() === "" ? null : value.trim();
  }
  for (const [key, value] of Object.entries(state.lists) as [Lists, string][]) {
    if (before && lines(before.lists[key]).join("\n") === lines(value).join("\n")) continue;
    if (!before && lines(value).length === 0) continue;
    out[key] = lines(value);
  }
  if (!before || before.enabled !== state.enabled) out.enabled = state.enabled;
  if (state.pin !== "") out.pin = state.pin;
  if (before ? before.manager.trim() !== state.manager.trim() : state.manager.trim() !== "") out.manager = state.manager.trim() === "" ? null : state.manager.trim();
  return out;
}

export function UserFormDialog({
  workspace,
  user,
  open,
  onClose,
  onSaved,
}: {
  workspace: string;
  user?: User | undefined;
  open: boolean;
  onClose: () => void;
  /** `warnings`: what the saved values lost on the way (the API's, "field: message"), for the page to show. */
  onSaved: (user: User, warnings: string[]) => void;
}) {
  return (
    <Dialog open={open} title={user ? `Edit ${user.displayName}` : "Add user"} onClose={onClose} wide>
      <UserForm key={user?.updatedAt ?? "new"} workspace={workspace} user={user} onCancel={onClose} onSaved={onSaved} />
    </Dialog>
  );
}

function UserForm({ workspace, user, onCancel, onSaved }: { workspace: string; user?: User | undefined; onCancel: () => void; onSaved: (user: User, warnings: string[]) => void }) {
  // Changes kept while the admin signed in again start the form; the PIN is never kept.
  const draft = useDraft<{ start: FormState; state: FormState }>("user");
  const initialState = useMemo(() => initial(user), [user]);
  const start = draft?.value.start ?? initialState;
  const [state, setState] = useState<FormState>(() => draft?.value.state ?? start);
  const changed = JSON.stringify({ ...state, pin: "" }) !== JSON.stringify(start) || state.pin !== "";
  useUnsavedChanges(changed);
  useKeepDraft("user", () => (changed ? { value: { start, state: { ...state, pin: "" } }, dropped: state.pin ? ["PIN"] : [] } : undefined));
  const {
    busy,
    error,
    fields: fieldErrors,
    submit,
  } = useSubmit(
    async () => {
      const payload = body(state, user ? start : null);
      type Saved = User & { warnings: string[] };
      const saved: Saved = user
        ? Object.keys(payload).length
          ? await api.patch<Saved>(ws(workspace, `/users/${encodeURIComponent(user.id)}`), payload, { ifMatch: true })
          : { ...user, warnings: [] }
        : await api.post<Saved>(ws(workspace, "/users"), payload);
      const { warnings, ...savedUser } = saved;
      onSaved(savedUser, warnings ?? []);
    },
    // Move focus to the first field with a problem so keyboard and screen-reader users land on it.
    { onError: () => requestAnimationFrame(() => document.querySelector<HTMLElement>(".user-form [aria-invalid='true']")?.focus()) },
  );
  const synced = user !== undefined && isSyncedSourceType(user.source.type);
  const locked = (field: string) => synced && sourceOwned.has(field);

  const setText = (key: Text) => (e: { target: { value: string } }) => setState((s) => ({ ...s, text: { ...s.text, [key]: e.target.value } }));
  const setList = (key: Lists) => (e: { target: { value: string } }) => setState((s) => ({ ...s, lists: { ...s.lists, [key]: e.target.value } }));

  const text = (key: Text, label: string, extra: Record<string, unknown> = {}) => (
    <TextField
      label={label}
      name={key}
      value={state.text[key]}
      onChange={setText(key)}
      error={fieldErrors[key]}
      readOnly={locked(key)}
      hint={locked(key) ? "Synced from Entra ID" : undefined}
      {...extra}
    />
  );
  const list = (key: Lists, label: string, hint: string) => (
    <TextArea
      label={label}
      name={key}
      value={state.lists[key]}
      onChange={setList(key)}
      error={fieldErrors[key]}
      readOnly={locked(key)}
      hint={locked(key) ? "Synced from Entra ID" : hint}
    />
  );
  const unplaced = Object.keys(fieldErrors).filter((k) => !(k in state.text) && !(k in state.lists) && k !== "pin" && k !== "enabled" && k !== "manager");

  return (
    <form className="user-form" onSubmit={submit} noValidate>
      <DraftNotice draft={draft} />
      {synced ? (
        <p className="banner banner-info">
          This user is synced from Entra ID source <strong>{user!.source.name}</strong>. Profile fields come from Entra ID; you can change the status, cards, aliases, PIN and tags here.
        </p>
      ) : null}
      {error && (!(error instanceof ApiError) || error.fields.length === 0 || unplaced.length) ? <ErrorBanner error={error} title="The user was not saved." /> : null}
      {error instanceof ApiError && error.fields.length && !unplaced.length ? (
        <p className="banner banner-error" role="alert">
          The user was not saved: fix the {error.fields.length === 1 ? "field" : `${error.fields.length} fields`} marked below.
        </p>
      ) : null}
      <fieldset>
        <legend>Identity</legend>
        <div className="grid-2">
          {text("displayName", "Display name", { required: true })}
          {text("email", "Email", { type: "email", autoComplete: "off" })}
          {text("givenName", "First name")}
          {text("surname", "Last name")}
          {text("userPrincipalName", "User principal name", { autoComplete: "off" })}
          {text("employeeId", "Employee ID")}
        </div>
      </fieldset>
      <fieldset>
        <legend>Work</legend>
        <div className="grid-2">
          {text("department", "Department")}
          {text("jobTitle", "Job title")}
          {text("mobilePhone", "Mobile phone", { type: "tel", autoComplete: "off" })}
          {list("businessPhones", "Business phones", "One per line.")}
          {text("preferredLanguage", "Preferred language", { placeholder: "en-US" })}
          <TextField
            label="Manager"
            name="manager"
            value={state.manager}
            onChange={(e) => setState((s) => ({ ...s, manager: e.target.value }))}
            error={fieldErrors.manager}
            readOnly={synced}
            autoComplete="off"
            hint={synced ? "Comes from the user's source" : "Another user's email (or Rollcall ID). Empty for none."}
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Access</legend>
        <div className="grid-2">
          {list("cardNumbers", "Card numbers", "One per line.")}
          {list("aliases", "Aliases", "Other sign-in names, one per line.")}
          <TextField
            label="PIN"
            name="pin"
            type="password"
            inputMode="numeric"
            autoComplete="new-password"
            value={state.pin}
            onChange={(e) => setState((s) => ({ ...s, pin: e.target.value }))}
            error={fieldErrors.pin}
            hint={draft?.dropped.includes("PIN") ? "Type the PIN again: it was not kept while you signed in." : user ? "Write-only. Leave empty to keep the current PIN." : "4 to 12 digits. Optional."}
          />
          {list("tags", "Tags", "One per line. Source tags (ID synced, Imported, Manual) are kept automatically.")}
        </div>
        <CheckField label="Enabled (can sign in)" checked={state.enabled} onChange={(e) => setState((s) => ({ ...s, enabled: e.target.checked }))} />
      </fieldset>
      <FormActions busy={busy} label={user ? "Save changes" : "Add user"} onCancel={onCancel} />
    </form>
  );
}
