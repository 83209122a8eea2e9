import { api } from "../api.ts";
import { useLoad, useTitle } from "../hooks.ts";
import { ErrorBanner, Loading } from "../components/ui.tsx";
import { Prop } from "./UserDetail.tsx";
import { useSession } from "../session.tsx";

interface Profile {
  account: { id: string; email: string; displayName: string };
  user: {
    displayName: string; email: string | null; userPrincipalName: string | null; department: string | null; jobTitle: string | null;
    employeeId: string | null; mobilePhone: string | null; businessPhones: string[]; groups: string[]; source: { type: string; name: string };
  } | null;
  workspace: { id: string; name: string } | null;
  workspaces: { id: string; name: string; role: "admin" | "viewer" }[];
  signInMethod: "password" | "microsoft";
}

/** The signed-in person's own profile: for a synced user, their directory record as Rollcall holds it. */
export function ProfilePage() {
  useTitle("Your profile");
  const owner = Boolean(useSession().account.isOwner);
  const profile = useLoad((signal) => api.get<Profile>("/auth/profile", undefined, { signal }), []);
  if (profile.error) return <div className="page"><ErrorBanner error={profile.error} retry={profile.reload} /></div>;
  if (!profile.data) return <Loading />;
  const p = profile.data;
  const rows: [string, string | null | undefined][] = p.user
    ? [
        ["Email", p.user.email],
        ["User principal name", p.user.userPrincipalName],
        ["Job title", p.user.jobTitle],
        ["Department", p.user.department],
        ["Employee ID", p.user.employeeId],
        ["Mobile phone", p.user.mobilePhone],
        ["Business phones", p.user.businessPhones.join(", ")],
        ["Groups", p.user.groups.join(", ")],
        ["Synchronized from", `${p.user.source.name} (Microsoft Entra ID)`],
      ]
    : [["Email", p.account.email]];
  return (
    <div className="page">
      <h1 data-testid="profile-name">{p.user?.displayName ?? p.account.displayName}</h1>
      <p className="hint">
        {p.signInMethod === "microsoft" ? "Signed in with your Microsoft account." : "Signed in with a Rollcall admin password."}{" "}
        {owner ? "Owner: administers every workspace and its admins." : p.workspaces.map((w) => `${w.role === "admin" ? "Admin" : "Read-only"} in ${w.name}`).join(" · ")}
      </p>
      <section className="card" aria-label="Your directory record">
      <dl className="props">
        {rows
          .filter(([, v]) => v)
          .map(([k, v]) => (
            <Prop key={k} label={k}>
              {v}
            </Prop>
          ))}
      </dl>
      </section>
    </div>
  );
}
