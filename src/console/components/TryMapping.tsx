import { useState, type FormEvent } from "react";
import { errorMessage } from "../api.ts";
import { syncApi, type TriedUser } from "../sync-api.ts";
import { Badge, Spinner } from "./ui.tsx";
import { FieldError } from "./field-error.tsx";
import { sourceAdvice } from "../advice.ts";

/**
 * "Try the mapping": one Entra user as the source's mapping makes it, before any sync (GET …/try-user). Nothing is
 * stored; a PIN is only said to be set.
 */
export function TryMapping({ workspace, source }: { workspace: string; source: string }) {
  const [user, setUser] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<TriedUser | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!user.trim()) {
      setError("Enter a user principal name, email or object ID");
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await syncApi.tryUser(workspace, source, user.trim()));
    } catch (e) {
      setError(sourceAdvice(errorMessage(e))); // a refused secret says to replace it in the settings, not with the CLI
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="try-h">
      <h2 id="try-h">Try the mapping</h2>
      <p className="muted small">See what this source would make of one Entra user before syncing: nothing is changed.</p>
      <form className="inline-form" onSubmit={submit} noValidate>
        <div className={`field${error ? " field-invalid" : ""}`}>
          <label htmlFor="try-user">Entra user</label>
          <input
            id="try-user"
            value={user}
            onChange={(e) => setUser(e.target.value)}
            placeholder="User principal name, email or object ID"
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "try-user-error" : undefined}
          />
          {error ? <FieldError id="try-user-error" message={error} /> : null}
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Reading the user" /> : null} Try
        </button>
      </form>
      <div role="status" aria-live="polite">
        {result ? <TriedResult tried={result} /> : null}
      </div>
    </section>
  );
}

const shown = (value: unknown): string => {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  return String(value);
};

const matchWords: Record<TriedUser["match"]["action"], string> = { create: "New user", update: "Updates its user", link: "Links a user", conflict: "Conflict" };

function TriedResult({ tried }: { tried: TriedUser }) {
  const { customAttributes, ...fields } = tried.user;
  const rows: [string, string, string | null][] = [
    ...Object.entries(fields).map(([field, value]): [string, string, string | null] => [field, shown(value), tried.origins[field] ?? null]),
    ...Object.entries(customAttributes).map(([key, value]): [string, string, string | null] => [`custom: ${key}`, value, tried.origins[`customAttributes.${key}`] ?? null]),
  ];
  const scope = tried.scope.inScope === null ? <Badge tone="warn">Scope unknown</Badge> : tried.scope.inScope ? <Badge tone="ok">In scope</Badge> : <Badge tone="bad">Out of scope</Badge>;
  return (
    <div className="try-result">
      <p>
        <strong>{tried.user.displayName}</strong> {scope} {tried.scope.reason}.
      </p>
      <p>
        <Badge tone={tried.match.action === "conflict" ? "warn" : "info"}>{matchWords[tried.match.action]}</Badge> {tried.match.message.charAt(0).toUpperCase() + tried.match.message.slice(1)}.
      </p>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Rollcall fields of {tried.user.displayName}, and the Graph property each comes from</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Value</th>
              <th scope="col">From Graph property</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([field, value, from]) => (
              <tr key={field}>
                <th scope="row">{field}</th>
                <td className="cell-wrap">{value}</td>
                <td>{from ? <code>{from}</code> : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {tried.warnings.length ? (
        <div className="banner banner-warn">
          <strong>Warnings</strong>
          <ul>
            {tried.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="muted small">No warnings.</p>
      )}
    </div>
  );
}
