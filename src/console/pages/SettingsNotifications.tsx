import { useEffect, useRef, useState } from "react";
import { api, ws } from "../api.ts";
import { useCanChange, useWorkspaceName } from "../session.tsx";
import { useLoad } from "../hooks.ts";
import type { Delivery } from "../../core/notifications.ts";
import type { NotificationSettings } from "../../core/notification-settings.ts";
import { Badge, ErrorBanner, Loading, TextArea, TextField, useToast } from "../components/ui.tsx";
import { ConfirmDialog, ShownOnceDialog } from "../components/dialog.tsx";
import { formatDate } from "../format.ts";
import { FormActions, FormError, useSubmit } from "../components/form.tsx";
import { DataTable } from "../components/DataTable.tsx";
import { DraftNotice, useDraft, useKeepDraft } from "../drafts.tsx";

/**
 * Settings → Notifications: who gets the warnings by e-mail, and the signed webhook. The webhook's signing
 * secret is made by the server and shown once; afterwards the screen only says that one is set.
 */
type Settings = NotificationSettings & { smtpConfigured: boolean };
type Saved = Settings & { webhookSecret: string | null };

const shownDeliveries = 50;
/**
 * One address per line, or several separated by commas, semicolons or spaces; a line that is not addresses alone
 * ("Ops <ops@example.com>") stays whole, for the server's error to name it as typed.
 */
const recipients = (text: string) =>
  text
    .split(/[\n,;]+/)
    .map((e) => e.trim())
    .filter(Boolean)
    .flatMap((e) => (e.split(/\s+/).every((word) => /^[^@<>]+@[^@<>]+$/.test(word)) ? e.split(/\s+/) : [e]));

export function NotificationSettingsSection() {
  const workspace = useWorkspaceName();
  const canChange = useCanChange();
  const toast = useToast();
  const settings = useLoad((signal) => api.get<Settings>(ws(workspace, "/notification-settings"), undefined, { signal }), [workspace]);
  const deliveries = useLoad((signal) => api.get<{ items: Delivery[] }>(ws(workspace, "/notification-deliveries"), undefined, { signal }).then((r) => r.items), [workspace]);
  const [emailTo, setEmailTo] = useState("");
  const [webhookUrl, setWebhookUrl] = useState("");
  const [newSecret, setNewSecret] = useState<string | null>(null);
  const [rotating, setRotating] = useState(false);
  const s = settings.data;
  const draft = useDraft<{ emailTo: string; webhookUrl: string }>("notifications");
  const [restored, setRestored] = useState(draft);
  const toRestore = useRef(draft);
  useEffect(() => {
    if (!s) return;
    // The settings as loaded, or once, the changes kept over a new sign-in.
    const kept = toRestore.current?.value;
    toRestore.current = undefined;
    setEmailTo(kept?.emailTo ?? s.emailTo.join("\n"));
    setWebhookUrl(kept?.webhookUrl ?? s.webhookUrl ?? "");
  }, [s]);
  const unchanged = !s || (recipients(emailTo).join("\n") === s.emailTo.join("\n") && webhookUrl.trim() === (s.webhookUrl ?? ""));
  useKeepDraft("notifications", () => (unchanged ? undefined : { value: { emailTo, webhookUrl }, dropped: [] }));

  const put = async (body: { emailTo?: string[]; webhookUrl?: string | null; rotateWebhookSecret?: boolean }) => {
    const saved = await api.put<Saved>(ws(workspace, "/notification-settings"), body);
    if (saved.webhookSecret) setNewSecret(saved.webhookSecret);
    settings.reload();
    return saved;
  };
  const { busy, error, fields, submit: save } = useSubmit(async () => {
    await put({ emailTo: recipients(emailTo), webhookUrl: webhookUrl.trim() || null });
    setRestored(undefined);
    toast("Notification settings saved");
  });

  return (
    <section className="card" aria-labelledby="notify-h">
      <h2 id="notify-h">Notifications</h2>
      <p className="muted">
        Warnings about expiring client secrets, failed or stopped syncs and failed imports appear in the console; they can also go out by e-mail and to a webhook
        (a JSON POST signed with <code>Rollcall-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")</code>).
      </p>
      <ErrorBanner error={settings.error} retry={settings.reload} title="Notification settings could not be loaded." />
      {!s && settings.loading ? <Loading label="Loading notification settings…" /> : null}
      {s ? (
        <form onSubmit={save} noValidate className="narrow-form">
          <DraftNotice draft={restored} />
          <TextArea
            label="E-mail recipients"
            value={emailTo}
            onChange={(e) => setEmailTo(e.target.value)}
            readOnly={!canChange}
            error={fields.emailTo}
            placeholder={"it-ops@example.com\nsecurity@example.com"}
            hint={s.smtpConfigured ? "One address per line (or separated by commas)." : "One address per line. The server has no ROLLCALL_SMTP_URL, so no e-mail is sent until it is set."}
          />
          <TextField
            label="Webhook URL"
            type="url"
            value={webhookUrl}
            onChange={(e) => setWebhookUrl(e.target.value)}
            readOnly={!canChange}
            error={fields.webhookUrl}
            placeholder="https://hooks.example.com/rollcall"
            hint="An https:// URL the server can reach (one inside its own network needs ROLLCALL_WEBHOOK_PRIVATE_NETWORK=true on the server). Empty removes the webhook. A new URL gets a new signing secret, shown once."
          />
          <div className="field">
            <span className="label">Webhook signing secret</span>
            <div data-testid="webhook-secret">
              {s.webhookSecretSet ? <Badge tone="ok">Set</Badge> : <Badge>Not set</Badge>}{" "}
              {canChange && s.webhookSecretSet ? (
                <button type="button" className="btn btn-small" onClick={() => setRotating(true)}>
                  Make a new secret
                </button>
              ) : null}
            </div>
          </div>
          <FormError error={error} fields={fields} title="Notification settings were not saved." />
          {canChange ? <FormActions busy={busy} label="Save notification settings" disabled={unchanged} /> : null}
        </form>
      ) : null}
      <DeliveryLog deliveries={deliveries.data} error={deliveries.error} retry={deliveries.reload} />
      <ShownOnceDialog
        open={newSecret !== null}
        title="Copy the webhook signing secret"
        label="Webhook signing secret"
        what="Secret"
        value={newSecret ?? ""}
        onClose={() => setNewSecret(null)}
        warning="This is the only time the secret is shown. Give it to the webhook's receiver to verify the Rollcall-Signature header; if it is lost, make a new one."
      />
      <ConfirmDialog
        open={rotating}
        title="Make a new webhook signing secret?"
        confirmLabel="Make a new secret"
        danger
        onClose={() => setRotating(false)}
        onConfirm={async () => {
          await put({ rotateWebhookSecret: true });
        }}
      >
        <p>The old secret stops working at once: the receiver rejects Rollcall's calls until it has the new one.</p>
      </ConfirmDialog>
    </section>
  );
}

function DeliveryLog({ deliveries, error, retry }: { deliveries: Delivery[] | undefined; error: unknown; retry: () => void }) {
  return (
    <>
      <h3 id="deliveries-h">Delivery log</h3>
      <ErrorBanner error={error} retry={retry} title="The delivery log could not be loaded." />
      {deliveries && deliveries.length === 0 ? <p className="muted">Nothing sent yet.</p> : null}
      {deliveries && deliveries.length ? (
        <DataTable columns={["When", "Channel", "To", "Status", "Last error"]} labelledBy="deliveries-h">
          {deliveries.slice(0, shownDeliveries).map((d) => (
            <tr key={d.id}>
              <td data-label="When">{formatDate(d.sentAt ?? d.createdAt)}</td>
              <td data-label="Channel">{d.channel === "email" ? "E-mail" : "Webhook"}</td>
              <td data-label="To" className="truncate">
                {d.target}
              </td>
              <td data-label="Status">
                <Badge tone={d.status === "sent" ? "ok" : d.status === "failed" ? "bad" : "neutral"}>{d.status}</Badge>
                {d.attempts > 1 ? ` after ${d.attempts} attempts` : ""}
              </td>
              <td data-label="Last error">{d.lastError ?? "—"}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
      {deliveries && deliveries.length > shownDeliveries ? (
        <p className="muted small">
          The newest {shownDeliveries} of {deliveries.length}; <code>rollcall notifications deliveries</code> lists more.
        </p>
      ) : null}
    </>
  );
}
