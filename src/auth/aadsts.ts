import type { AadstsFailure } from "../sources/entra/token.ts";

/**
 * What an AADSTS code that ends a sign-in means, and who does what about it: the person (sign in again,
 * finish MFA) or an admin (and where in the Microsoft Entra admin center). Microsoft sends these to the
 * redirect URI (`error`, `error_description` = "AADSTS<code>: text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …")
 * or answers them from the token endpoint; parseAadsts (sources/entra/token.ts) reads the code.
 * [reference-error-codes, v2-oauth2-auth-code-flow]
 */
const admin = "Microsoft Entra admin center";

/** Codes Microsoft returns to the app during a sign-in, each with what it means and what to do. */
const signInAdvice: Record<number, string> = {
  65004: "You declined (or cancelled) the permissions Rollcall asks for at Microsoft. Sign in again and accept them; if your organization does not let people consent, an admin grants consent once for everyone: " +
    `${admin} > Enterprise applications > the app > Permissions > Grant admin consent.`,
  65001: "Your organization has not consented to the app Rollcall signs in with. An admin grants consent once for everyone: " +
    `${admin} > Enterprise applications > the app > Permissions > Grant admin consent (or App registrations > the app > API permissions > Grant admin consent).`,
  90094: `The app needs an admin's consent in your organization. An admin grants it: ${admin} > Enterprise applications > the app > Permissions > Grant admin consent.`,
  90095: `The app needs an admin's consent in your organization. An admin grants it: ${admin} > Enterprise applications > the app > Permissions > Grant admin consent.`,
  50105: "The app registration requires user assignment, and you are not assigned to it. An admin assigns you (or a group you are in): " +
    `${admin} > Enterprise applications > the app > Users and groups > Add user/group; or turns off Properties > Assignment required.`,
  53003: "A Conditional Access policy of your organization blocked this sign-in. An admin finds the policy in " +
    `${admin} > Monitoring & health > Sign-in logs (search by the correlation ID below) and adjusts it under Protection > Conditional Access.`,
  530035: `Security defaults blocked this sign-in. An admin checks ${admin} > Monitoring & health > Sign-in logs (search by the correlation ID below).`,
  50076: "Your organization requires multifactor authentication for this sign-in. Sign in again and complete it.",
  50079: "Your organization requires you to register for multifactor authentication. Sign in again and register your security info when Microsoft asks.",
  50074: "Multifactor authentication was not completed. Sign in again and complete it.",
  50057: `Your account is disabled in Microsoft Entra ID. An admin enables it: ${admin} > Users > you > Properties > Account enabled.`,
  50053: "Your account is locked after too many failed attempts, or the sign-in came from an address Microsoft considers malicious. Wait and try again, or ask an admin to check " +
    `${admin} > Monitoring & health > Sign-in logs.`,
  50055: "Your password has expired. Reset it (or ask an admin to), then sign in again.",
  50126: "The user name or password was wrong. Sign in again.",
  50058: "Microsoft did not know who you are (no one is signed in). Sign in again.",
  50020: "The account you used belongs to another organization and is not a guest in this one. Sign in with your account of this organization, or ask an admin to invite you as a guest " +
    `(${admin} > Users > Invite external user).`,
  50034: "That account does not exist in this organization's directory. Check the user name, or sign in with your account of this organization.",
  16000: "The account you used is not in this organization's directory. Sign in with your account of this organization, or ask an admin to invite you as a guest.",
  700016: "The app Rollcall signs in with is not registered in your organization: an admin grants admin consent for it there first, or the source has the wrong application (client) ID or tenant. " +
    `Compare App registrations > the app > Overview with the source's settings.`,
  7000112: `The app Rollcall signs in with is disabled in your organization. An admin enables it: ${admin} > Enterprise applications > the app > Properties > Enabled for users to sign in.`,
  50011: "The redirect URI Rollcall sent is not registered on the app. An admin adds it: App registrations > the app > Authentication > Web > Redirect URIs.",
  90033: "Microsoft's sign-in service is busy or briefly unavailable. Start again from the sign-in page in a minute.",
  90002: "The tenant the source names does not exist (or is in another cloud). An admin corrects the source's directory (tenant) ID.",
};

/**
 * The explanation for a code, or null when Rollcall has none (the description's first line then says it). AADSTS16000
 * means two things: an account outside the directory, or, sent back as interaction_required to a silent sign-in
 * (prompt=none), a browser signed in with several accounts, where Microsoft needs the person to pick one.
 */
export function signInAdviceFor(code: number | null, error?: string): string | null {
  if (code === 16000 && error === "interaction_required") {
    return "This browser is signed in to Microsoft with more than one account, and the sign-in link asked Microsoft not to show a page (prompt=none). Sign in again from the sign-in page and pick your account.";
  }
  return code === null ? null : (signInAdvice[code] ?? null);
}

/** "AADSTS65001, correlation ID …, at …": what to quote to an admin or to Microsoft support. */
export function aadstsReference(f: AadstsFailure): string {
  const parts = [f.code !== null ? `AADSTS${f.code}` : f.error, f.correlationId && `correlation ID ${f.correlationId}`, f.traceId && `trace ID ${f.traceId}`, f.timestamp && `at ${f.timestamp}`];
  return parts.filter(Boolean).join(", ");
}
