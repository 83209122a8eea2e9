/**
 * The few server-rendered pages of the browser sign-in (the console is not loaded yet when they show):
 * a refusal that says why and what to do, and a chooser when the workspace or app is not clear.
 * No script; a strict Content-Security-Policy is sent with them.
 */
export const pageSecurityHeaders = {
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "cache-control": "no-store",
};

/**
 * The workspace chooser's form goes to Rollcall, which redirects to the organization's login host: browsers check
 * form-action on every redirect of a form's navigation (Chromium blocks it otherwise), so it allows https hosts too.
 * https://www.w3.org/TR/CSP3/#directive-form-action
 */
export const chooserSecurityHeaders = {
  ...pageSecurityHeaders,
  "content-security-policy": pageSecurityHeaders["content-security-policy"].replace("form-action 'self'", "form-action 'self' https:"),
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Rollcall</title>
<style>body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f5f6f8;color:#1d2330;margin:0}main{max-width:30rem;margin:10vh auto;background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:2rem}
h1{font-size:1.3rem;margin-top:0}a.button,button{display:inline-block;background:#2f5bd3;color:#fff;border:0;border-radius:6px;padding:.55rem 1rem;font-size:1rem;text-decoration:none;cursor:pointer}
input{font-size:1rem;padding:.45rem;border:1px solid #b9c0cc;border-radius:6px;width:100%;box-sizing:border-box;margin:.3rem 0 1rem}ul{padding-left:1.2rem}.muted{color:#5b6473;font-size:.9rem}</style></head>
<body><main>${body}</main></body></html>`;
}

/** `choices`: links to sign in again another way (through one organization), shown above the way back. */
export function refusalPage(message: string, reason: string, choices: { label: string; href: string }[] = []): string {
  const links = choices.length ? `<ul>${choices.map((c) => `<li><a class="organization" href="${escapeHtml(c.href)}">${escapeHtml(c.label)}</a></li>`).join("")}</ul>` : "";
  return layout("Sign-in refused", `<h1 id="signin-refused">You could not be signed in</h1><p id="signin-reason" data-reason="${escapeHtml(reason)}">${escapeHtml(message)}</p>
${links}<p><a class="button" href="/login">Back to the sign-in page</a></p>`);
}

export function chooseWorkspacePage(action: string, hidden: Record<string, string>): string {
  const inputs = Object.entries(hidden).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join("");
  return layout("Sign in with Microsoft", `<h1>Sign in with Microsoft</h1><form method="get" action="${escapeHtml(action)}">${inputs}
<label for="workspace">Your workspace</label><input id="workspace" name="workspace" required autocomplete="organization" autofocus>
<button type="submit">Continue</button></form><p class="muted">Ask your Rollcall admin for the workspace name if you do not know it.</p>`);
}

export function chooseSourcePage(action: string, workspace: string, sources: { name: string }[], hidden: Record<string, string>): string {
  const links = sources
    .map((s) => `<li><a href="${escapeHtml(`${action}?${new URLSearchParams({ ...hidden, workspace, source: s.name })}`)}">${escapeHtml(s.name)}</a></li>`)
    .join("");
  return layout("Sign in with Microsoft", `<h1>Which organization?</h1><p>Workspace ${escapeHtml(workspace)} signs in people of several Microsoft organizations. Pick yours:</p><ul>${links}</ul>`);
}
