import { useEffect, useState, type FormEvent } from "react";
import { api, ApiError } from "../api.ts";
import type { Account } from "../types.ts";
import { Spinner, TextField } from "../components/ui.tsx";
import { useTitle } from "../hooks.ts";

/**
 * microsoftSignOutUrl: just signed out of a session that came through Microsoft, whose own session in this browser
 * lives on (other apps use it): offered, not forced.
 */
export function SignIn({ onSignedIn, reason, microsoftSignOutUrl }: { onSignedIn: (account: Account) => void; reason?: string | undefined; microsoftSignOutUrl?: string | undefined }) {
  useTitle("Sign in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  // A refused sign-in leaves the focus on the password, selected to type again (the button it was on was disabled meanwhile).
  useEffect(() => {
    if (error) document.querySelector<HTMLInputElement>(".signin-card input[name='password']")?.select();
  }, [error]);
  // "Sign in with Microsoft" shows when any Entra source is used as authentication server.
  const [microsoft, setMicrosoft] = useState(false);
  useEffect(() => {
    api.get<{ microsoft: boolean }>("/auth/providers", undefined, { quiet401: true }).then((p) => setMicrosoft(p.microsoft), () => setMicrosoft(false));
  }, []);
  // Back to the address asked for, or, when the session ended on a page, to that page (where its forms' changes wait).
  const here = window.location.pathname === "/login" || window.location.pathname === "/" ? null : window.location.pathname + window.location.search;
  const query = new URLSearchParams(window.location.search);
  const next = query.get("next") ?? here;
  const backFromMicrosoft = query.get("signedOut") === "microsoft";
  const microsoftHref = `/api/v1/auth/microsoft/start${next && next.startsWith("/") && !next.startsWith("//") ? `?returnTo=${encodeURIComponent(next)}` : ""}`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setFields({});
    try {
      const result = await api.post<{ account: Account; csrfToken: string }>("/auth/login", { email: email.trim(), password }, { quiet401: true });
      onSignedIn({ ...result.account, csrfToken: result.csrfToken });
    } catch (e) {
      if (e instanceof ApiError && e.code === "invalid_input" && e.fields.length) setFields(e.fieldMap());
      else if (e instanceof ApiError && e.status === 401) setError("The email or password is wrong. Check both and try again.");
      else if (e instanceof ApiError && e.status === 429) setError(e.message || "Too many attempts. Wait a minute, then try again.");
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} noValidate aria-labelledby="signin-title">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">R</span> Rollcall
        </div>
        <h1 id="signin-title">Sign in to the console</h1>
        {reason && !error ? <p className="banner banner-info">{reason}</p> : null}
        {microsoftSignOutUrl && !error ? (
          <p className="banner banner-info" role="status">
            You signed out of Rollcall. Your Microsoft account is still signed in on this browser, for its other apps.{" "}
            <a href={microsoftSignOutUrl}>Sign out of Microsoft too</a>
          </p>
        ) : null}
        {backFromMicrosoft && !microsoftSignOutUrl && !error ? (
          <p className="banner banner-info" role="status">
            You signed out of Rollcall and of your Microsoft account on this browser.
          </p>
        ) : null}
        {error ? (
          <p className="banner banner-error" role="alert">
            {error}
          </p>
        ) : null}
        {microsoft ? (
          <>
            <a className="btn btn-block btn-microsoft" href={microsoftHref}>
              <span aria-hidden="true" className="ms-logo">
                <svg width="16" height="16" viewBox="0 0 21 21"><rect x="1" y="1" width="9" height="9" fill="#f25022" /><rect x="11" y="1" width="9" height="9" fill="#7fba00" /><rect x="1" y="11" width="9" height="9" fill="#00a4ef" /><rect x="11" y="11" width="9" height="9" fill="#ffb900" /></svg>
              </span>{" "}
              Sign in with Microsoft
            </a>
            <p className="hint signin-or">or, for Rollcall admins, with email and password:</p>
          </>
        ) : null}
        <TextField
          label="Email"
          type="email"
          name="email"
          autoComplete="username"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={fields.email}
          required
          autoFocus
        />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fields.password}
          required
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !email || !password}>
          {busy ? <Spinner label="Signing in" /> : null} Sign in
        </button>
        <p className="hint">
          The first start of <code>rollcall serve</code> prints the admin password; <code>rollcall admins reset-password</code> sets a new one.
        </p>
      </form>
    </main>
  );
}
