import { useEffect, useMemo, useState, type FormEvent } from "react";
import { api, ApiError } from "../api.ts";
import { syncApi, type Source } from "../sync-api.ts";
import { CheckField, ErrorBanner, SelectField, TextArea, TextField } from "./ui.tsx";
import { Dialog, useUnsavedChanges } from "./dialog.tsx";
import { FormActions, useSubmit } from "./form.tsx";
import { GroupPicker } from "./GroupPicker.tsx";
import { FieldError } from "./field-error.tsx";
import { clouds, credentialRequired, formProblems, initial, problemsAt, storedCredential, timeZones, toInput, type FormState } from "./source-form-state.ts";
import { CredentialFields, credentialEntered, emptyCredential } from "./CredentialFields.tsx";
import { DraftNotice, useDraft, useKeepDraft } from "../drafts.tsx";

export { describeEndpoints } from "./source-form-state.ts";

/** The time zones to pick from, with the one saved even when this browser does not list it (an alias such as Asia/Calcutta). */
function zoneOptions(saved: string): string[] {
  const zones = timeZones();
  return zones.includes(saved) ? zones : [saved, ...zones];
}

const focusFirstProblem = () => requestAnimationFrame(() => document.querySelector<HTMLElement>(".source-form [aria-invalid='true']")?.focus());

/** `lines` with `line` added at the end, on a line of its own. */
const withLine = (lines: string, line: string) => (lines.trim() ? `${lines.replace(/\s+$/, "")}\n${line}` : line);

/**
 * Add or edit an Entra ID source: every setting of the source. Its client secret or certificate is write-only: an
 * existing source shows only which kind is set and when it expires, and a new one (of either kind) replaces it.
 */
export function SourceFormDialog({
  workspace,
  source,
  open,
  onClose,
  onSaved,
  atScope = false,
}: {
  workspace: string;
  source?: Source | undefined;
  open: boolean;
  onClose: () => void;
  onSaved: (source: Source) => void;
  /** Opens with the keyboard focus (and the view) on which users to sync, after the rest was set up. */
  atScope?: boolean;
}) {
  return (
    <Dialog open={open} title={source ? `Edit source ${source.name}` : "Add Entra ID source"} onClose={onClose} wide>
      <SourceForm key={source?.updatedAt ?? "new"} workspace={workspace} source={source} onCancel={onClose} onSaved={onSaved} atScope={atScope} />
    </Dialog>
  );
}

function SourceForm({ workspace, source, onCancel, onSaved, atScope }: { workspace: string; source?: Source | undefined; onCancel: () => void; onSaved: (s: Source) => void; atScope: boolean }) {
  const start = useMemo(() => initial(source), [source]);
  // Changes kept while the admin signed in again start the form; the secret or certificate is never kept.
  const draft = useDraft<{ form: FormState; advanced: boolean }>("source");
  const [s, setS] = useState<FormState>(() => (draft ? { ...draft.value.form, credential: draft.value.form.credential ?? start.credential } : start));
  const {
    busy,
    error,
    setError,
    submit: save,
  } = useSubmit(
    async () => {
      const input = toInput(s, start.secretExpiresOn);
      onSaved(source ? await syncApi.updateSource(workspace, source.name, input) : await syncApi.createSource(workspace, input));
    },
    { onError: focusFirstProblem },
  );
  const fe = problemsAt(error);
  const redirectUri = useSignInRedirectUri();
  const [advanced, setAdvanced] = useState(draft?.value.advanced ?? Boolean(source && (source.config.loginUrl || source.config.graphUrl || source.config.cloud !== "global" || Object.keys(source.config.mapping).length)));
  const changed = JSON.stringify(s) !== JSON.stringify(start);
  useUnsavedChanges(changed);
  const dropped = credentialEntered(s.credential) ? [s.credential.kind === "secret" ? "client secret" : "certificate and its private key"] : [];
  useKeepDraft("source", () => (changed ? { value: { form: { ...s, credential: emptyCredential(s.credential.kind) }, advanced }, dropped } : undefined));
  const stored = storedCredential(source);
  // The stored credential's problem (a moved login URL asks for it again) shows at its line until its fields open.
  const credentialError = fe.clientSecret ?? fe.certificatePem ?? fe.privateKeyPem ?? fe.credential;
  const set = <K extends keyof FormState>(key: K) => (value: FormState[K]) => setS((x) => ({ ...x, [key]: value }));
  // The button goes as the fields come: the keyboard focus goes on to the field that takes the new credential.
  const replaceCredential = () => {
    set("replaceSecret")(true);
    requestAnimationFrame(() => document.querySelector<HTMLElement>(".source-form :is([name='clientSecret'], [name='certificatePem'])")?.focus());
  };
  const text = (key: keyof FormState) => ({
    value: s[key] as string,
    onChange: (e: { target: { value: string } }) => set(key)(e.target.value as never),
    name: key,
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const problems = formProblems(s, source);
    if (problems.length) {
      setError(new ApiError(400, "invalid_input", "Fill in the fields marked.", { fields: problems }));
      focusFirstProblem();
      return;
    }
    await save();
  };
  const placed = new Set([
    "name", "tenantId", "clientId", "clientSecret", "certificatePem", "privateKeyPem", "credential", "secretExpiresOn", "cloud", "loginUrl", "graphUrl", "users", "scopeGroups", "groupMode", "groups", "groupAttribute",
    "ignoreGroups", "ignoreGroupsContaining", "mapping", "country", "onRemove", "thresholdPercent", "thresholdCount", "schedule", "everyHours", "fullEveryDays",
  ]);
  const unplaced = Object.keys(fe).filter((k) => !placed.has(k));

  return (
    <form className="source-form" onSubmit={submit} noValidate>
      <DraftNotice draft={draft} />
      {error && (!(error instanceof ApiError) || error.fields.length === 0 || unplaced.length) ? <ErrorBanner error={error} title="The source was not saved." /> : null}
      <fieldset>
        <legend>Connection</legend>
        <p className="muted small">
          In the Microsoft Entra admin center, register an application, give it the Microsoft Graph application permission <strong>User.Read.All</strong> (and{" "}
          <strong>Group.Read.All</strong> to sync groups), grant admin consent, and create a client secret (or upload a certificate) under Certificates &amp; secrets.
        </p>
        <div className="grid-2">
          <TextField label="Name" {...text("name")} error={fe.name} hint={source ? "Shown on its users and groups; a new name is written on them too." : "How this source appears here, e.g. contoso."} required />
          <TextField label="Directory (tenant) ID" {...text("tenantId")} error={fe.tenantId} hint="A GUID or a verified domain, from the tenant's Overview page." required autoComplete="off" />
          <TextField label="Application (client) ID" {...text("clientId")} error={fe.clientId} hint="From the app registration's Overview page." required autoComplete="off" />
          {source && !s.replaceSecret ? (
            <div className="field" data-kind="source-credential">
              <span className="label">Credential</span>
              <div>
                <span className={source.secret.set ? "" : "field-error"}>{stored === "certificate" ? source.secret.description : `Client secret ${source.secret.description}`}</span>{" "}
                <button type="button" className="btn btn-small" onClick={replaceCredential}>
                  Replace {stored ?? "secret"}
                </button>
              </div>
              {credentialError ? <FieldError message={credentialError} /> : null}
            </div>
          ) : (
            <div>
              <CredentialFields
                draft={s.credential}
                onChange={set("credential")}
                fields={fe.credential && !fe.clientSecret ? { ...fe, clientSecret: fe.credential } : fe}
                stored={stored}
                retype={Boolean(draft?.dropped.length) && !credentialEntered(s.credential)}
                required={credentialRequired(s, source)}
              />
            </div>
          )}
          <TextField label="Secret expires on" type="date" {...text("secretExpiresOn")} error={fe.secretExpiresOn} hint="Rollcall warns 30 days before." />
          <CheckField
            label="Use for Sign in with Microsoft"
            checked={s.signIn}
            onChange={(e) => set("signIn")(e.target.checked)}
            hint={`This directory's users can sign in to Rollcall with their Microsoft account. ${registerRedirectUri(redirectUri)}`}
          />
          <CheckField
            label="Sync on change"
            checked={s.syncOnChange}
            onChange={(e) => set("syncOnChange")(e.target.checked)}
            hint="Microsoft Graph tells Rollcall when users or groups change, and a quick sync follows within a minute, so a leaver loses access at once. Rollcall must be reachable from Microsoft over HTTPS (ROLLCALL_PUBLIC_URL)."
          />
          <CheckField
            label="Sync photos"
            checked={s.photos}
            onChange={(e) => set("photos")(e.target.checked)}
            hint="Each user's profile photo from Entra ID (240×240), for badges and desk screens: fetched for users a sync creates or changes, and checked for every user at each full sync."
          />
        </div>
        <button type="button" className="btn btn-link" aria-expanded={advanced} onClick={() => setAdvanced((a) => !a)}>
          {advanced ? "Hide" : "Show"} cloud, endpoints and attribute mapping
        </button>
        {advanced ? (
          <div className="grid-2">
            <SelectField label="Cloud" {...text("cloud")} error={fe.cloud}>
              {clouds.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </SelectField>
            <span />
            <TextField label="Login URL" type="url" placeholder="https://login.microsoftonline.com" {...text("loginUrl")} error={fe.loginUrl} hint="Leave empty to use the cloud's. Another host (the Entra emulator's) needs ROLLCALL_ENTRA_CUSTOM_URLS=true on the server." />
            <TextField label="Graph URL" type="url" placeholder="https://graph.microsoft.com" {...text("graphUrl")} error={fe.graphUrl} hint="Leave empty to use the cloud's." />
            <TextArea
              label="Attribute mapping"
              {...text("mapping")}
              error={fe.mapping}
              placeholder={"employeeId = onPremisesExtensionAttributes.extensionAttribute1\ncardNumbers = extension_abc_cardNumber\ncustom:costCenter = companyName"}
              hint="One per line: Rollcall field = Graph property. Overrides the defaults (email = mail, enabled = accountEnabled, …)."
            />
          </div>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Users</legend>
        <div className="grid-2">
          <SelectField label="Which users" {...text("users")} error={fe.users} {...(atScope && { "data-initial-focus": true })}>
            <option value="all">All users in the directory</option>
            <option value="groups">Only members of these groups</option>
          </SelectField>
          {s.users === "groups" ? (
            <div>
              <TextArea label="Groups whose members are synced" {...text("scopeGroups")} error={fe.scopeGroups} hint="Group names or object IDs, one per line. Nested members count." />
              {source ? <GroupPicker workspace={workspace} source={source.name} picked={s.scopeGroups} onPick={(name) => set("scopeGroups")(withLine(s.scopeGroups, name))} /> : null}
            </div>
          ) : (
            <span />
          )}
          <CheckField label="Include guest users (B2B)" checked={s.includeGuests} onChange={(e) => set("includeGuests")(e.target.checked)} />
          <CheckField label="Sync managers" checked={s.syncManagers} onChange={(e) => set("syncManagers")(e.target.checked)} hint="Each user's Entra ID manager becomes their manager here (a manager the source does not sync is left out)." />
          <CheckField
            label="Link existing users by email"
            checked={s.linkByEmail}
            onChange={(e) => set("linkByEmail")(e.target.checked)}
            hint="A user added by hand or imported with the same email becomes this source's user instead of a duplicate."
          />
          <TextField label="Phone country" maxLength={2} placeholder="Workspace default" {...text("country")} error={fe.country} hint="For phone numbers without +country code." />
        </div>
      </fieldset>
      <fieldset>
        <legend>Groups</legend>
        <div className="grid-2">
          <SelectField label="Groups to sync" {...text("groupMode")} error={fe.groupMode}>
            <option value="all">All groups</option>
            <option value="selected">Only these groups</option>
            <option value="attribute">Make groups from a user attribute</option>
            <option value="none">No groups</option>
          </SelectField>
          {s.groupMode === "selected" ? (
            <div>
              <TextArea label="Groups" {...text("groups")} error={fe.groups} hint="Names or object IDs, one per line." />
              {source ? <GroupPicker workspace={workspace} source={source.name} picked={s.groups} onPick={(name) => set("groups")(withLine(s.groups, name))} /> : null}
            </div>
          ) : null}
          {s.groupMode === "attribute" ? (
            <TextField label="User attribute" placeholder="department" {...text("groupAttribute")} error={fe.groupAttribute} hint="Each distinct value becomes a group, e.g. department or officeLocation." />
          ) : null}
          {s.groupMode === "all" || s.groupMode === "selected" ? (
            <>
              <TextArea label="Ignore these groups" {...text("ignoreGroups")} error={fe.ignoreGroups} hint="Names or IDs, one per line." />
              <TextArea label="Ignore groups whose name contains" {...text("ignoreGroupsContaining")} error={fe.ignoreGroupsContaining} hint="One text per line, e.g. “test”." />
            </>
          ) : null}
        </div>
      </fieldset>
      <fieldset>
        <legend>Removals and safety</legend>
        <div className="grid-2">
          <SelectField label="When a user leaves the source" {...text("onRemove")} error={fe.onRemove}>
            <option value="disable">Disable them (keep the record)</option>
            <option value="delete">Delete them</option>
            <option value="keep">Keep them as they are</option>
          </SelectField>
          <span />
          <TextField label="Stop if more than this % would be removed" type="number" min={0} max={100} {...text("thresholdPercent")} error={fe.thresholdPercent} />
          <TextField
            label="…and more than this many users"
            type="number"
            min={0}
            {...text("thresholdCount")}
            error={fe.thresholdCount}
            hint="A run over both limits stops before changing anything, for you to review and apply or reject."
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Schedule</legend>
        <div className="grid-2">
          <SelectField label="Sync automatically" {...text("scheduleKind")} error={fe.schedule}>
            <option value="every">Every few hours</option>
            <option value="cron">On a cron schedule</option>
            <option value="none">Only when I click Sync now</option>
          </SelectField>
          {s.scheduleKind === "every" ? <TextField label="Every (hours)" type="number" min={0.0167} step="any" {...text("everyHours")} error={fe.everyHours} hint="Changes only (delta) after the first sync." /> : null}
          {s.scheduleKind === "cron" ? <TextField label="Cron expression" {...text("cron")} error={fe.cron} hint="Five fields: 0 6 * * 1-5 = 06:00 on weekdays; 0 */2 * * * = every two hours." /> : null}
          {s.scheduleKind === "cron" ? (
            <SelectField label="Time zone" {...text("timeZone")} error={fe.timeZone} hint="The cron expression's hours are in this zone, daylight saving time included.">
              {zoneOptions(s.timeZone).map((zone) => (
                <option key={zone} value={zone}>
                  {zone.replaceAll("_", " ")}
                </option>
              ))}
            </SelectField>
          ) : null}
          <TextField label="Full sync every (days)" type="number" min={1} {...text("fullEveryDays")} error={fe.fullEveryDays} hint="A full listing that re-checks everything; runs between are delta." />
        </div>
      </fieldset>
      <FormActions busy={busy} label={source ? "Save source" : "Add source"} onCancel={onCancel} />
    </form>
  );
}

/**
 * The callback a sign-in source's app registration must list, as this server computes it (ROLLCALL_PUBLIC_URL
 * or the address it is reached at): without it the first person to sign in meets AADSTS50011 at Microsoft.
 */
export function useSignInRedirectUri(): string | null {
  const [uri, setUri] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    api.get<{ microsoftRedirectUri: string }>("/auth/providers", undefined, { signal: controller.signal }).then((p) => setUri(p.microsoftRedirectUri), () => undefined);
    return () => controller.abort();
  }, []);
  return uri;
}

export function registerRedirectUri(uri: string | null): string {
  const logout = uri ? uri.replace(/\/callback$/, "/frontchannel-logout") : "this server's /api/v1/auth/microsoft/frontchannel-logout";
  return `Register ${uri ?? "this server's /api/v1/auth/microsoft/callback"} as a Web redirect URI on the app registration (Authentication), ` +
    `and ${logout} as its Front-channel logout URL (signing out of Microsoft anywhere then signs out of Rollcall too); ` +
    "add the ID token's optional claim login_hint (Token configuration) so that signing out of Microsoft does not ask which account.";
}
