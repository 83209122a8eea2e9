import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, onUnauthenticated, setCsrfToken, ApiError } from "./api.ts";
import { Link, match, navigate, useLocation } from "./router.tsx";
import { SessionContext, landingWorkspace, rememberWorkspace, rememberedWorkspace, wsPath, type Session, type WorkspaceContents } from "./session.tsx";
import type { Account, PageOf, Workspace } from "./types.ts";
import { ErrorBanner, Loading, ToastProvider } from "./components/ui.tsx";
import { SignIn } from "./pages/SignIn.tsx";
import { UsersPage } from "./pages/Users.tsx";
import { UserPage } from "./pages/UserDetail.tsx";
import { GroupsPage } from "./pages/Groups.tsx";
import { GroupPage } from "./pages/GroupDetail.tsx";
import { SyncPage } from "./pages/Sync.tsx";
import { SourcePage } from "./pages/SourceDetail.tsx";
import { RunPage } from "./pages/RunDetail.tsx";
import { ImportPage } from "./pages/Import.tsx";
import { SettingsPage } from "./pages/Settings.tsx";
import { WorkspaceSwitcher } from "./components/WorkspaceSwitcher.tsx";
import { ProfilePage } from "./pages/Profile.tsx";
import { NotificationsBanner } from "./components/NotificationsBanner.tsx";
import { NotificationsPage } from "./components/NotificationsPage.tsx";
import { ActivityPage } from "./pages/Activity.tsx";
import { AllWorkspacesPage } from "./pages/AllWorkspaces.tsx";
import { clearDrafts, keepDrafts, setDraftAccount } from "./drafts.tsx";

type Auth = { state: "checking" } | { state: "signed-out"; reason?: string; microsoftSignOutUrl?: string } | { state: "signed-in"; account: Account };

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: "checking" });
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const location = useLocation();

  const signedIn = useCallback((account: Account) => {
    setCsrfToken(account.csrfToken ?? null);
    setDraftAccount(account.id);
    setAuth({ state: "signed-in", account });
  }, []);

  useEffect(() => {
    api.get<Account | { account: Account; csrfToken?: string }>("/auth/me", undefined, { quiet401: true }).then(
      (me) => signedIn(unwrapAccount(me)),
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 401) setAuth({ state: "signed-out" });
        else setLoadError(error);
      },
    );
    return onUnauthenticated(() => {
      // Before the sign-in page replaces the open forms: what they hold is kept for after signing in again.
      keepDrafts();
      setCsrfToken(null);
      setAuth({ state: "signed-out", reason: "Your session has ended. Sign in again to continue." });
    });
  }, [signedIn]);

  const reloadWorkspaces = useCallback(async () => {
    const list = await api.get<{ items: Workspace[] } | Workspace[]>("/workspaces");
    const items = Array.isArray(list) ? list : list.items;
    setWorkspaces(items);
    return items;
  }, []);

  useEffect(() => {
    if (auth.state !== "signed-in") return;
    setLoadError(null);
    reloadWorkspaces().catch(setLoadError);
  }, [auth.state, reloadWorkspaces]);

  const signOut = useCallback(async () => {
    let microsoftSignOutUrl: string | undefined;
    try {
      microsoftSignOutUrl = (await api.post<{ microsoftSignOutUrl: string | null }>("/auth/logout")).microsoftSignOutUrl ?? undefined;
    } finally {
      setCsrfToken(null);
      clearDrafts();
      setDraftAccount(null);
      setWorkspaces(null);
      setAuth({ state: "signed-out", ...(microsoftSignOutUrl && { microsoftSignOutUrl }) });
      navigate("/login");
    }
  }, []);

  const wsName = location.path.startsWith("/w/") ? safeDecode(location.path.split("/")[2] ?? "") : undefined;
  const workspace = workspaces?.find((w) => w.name.toLowerCase() === wsName?.toLowerCase());

  const session: Session | null = useMemo(
    () => (auth.state === "signed-in" && workspaces ? { account: auth.account, workspaces, workspace, reloadWorkspaces, signOut } : null),
    [auth, workspaces, workspace, reloadWorkspaces, signOut],
  );

  if (loadError) {
    return (
      <main className="center-page">
        <ErrorBanner error={loadError} title="The console could not load." retry={() => window.location.reload()} />
      </main>
    );
  }
  if (auth.state === "checking") return <Loading label="Loading Rollcall…" />;
  if (auth.state === "signed-out") {
    return (
      <ToastProvider>
        <SignIn
          reason={auth.reason}
          microsoftSignOutUrl={auth.microsoftSignOutUrl}
          onSignedIn={(account) => {
            signedIn(account);
            if (location.path === "/login" || location.path === "/") navigate(location.query.get("next") ?? "/", { replace: true });
          }}
        />
      </ToastProvider>
    );
  }
  if (!session) return <Loading label="Loading workspaces…" />;

  return (
    <ToastProvider>
      <SessionContext.Provider value={session}>
        <Routed path={location.path} session={session} />
      </SessionContext.Provider>
    </ToastProvider>
  );
}

function unwrapAccount(me: Account | { account: Account; csrfToken?: string }): Account {
  if ("account" in me && me.account) return { ...me.account, csrfToken: me.csrfToken ?? me.account.csrfToken };
  return me as Account;
}

export { unwrapAccount };

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The page listing every workspace the person may use (linked beside the workspace menu when there are several). */
const allWorkspacesPath = "/workspaces";

function Routed({ path, session }: { path: string; session: Session }) {
  const bare = path === "/" || path === "/login" || (!path.startsWith("/w/") && path !== allWorkspacesPath);
  // Without a workspace used last, the landing weighs what each holds; read only then, and once.
  const weigh = bare && session.workspaces.length > 1 && !rememberedWorkspace(session.workspaces);
  const [contents, setContents] = useState<WorkspaceContents[] | "unread" | "failed">("unread");
  useEffect(() => {
    if (!weigh || contents !== "unread") return;
    api.get<PageOf<WorkspaceContents>>("/workspace-overview").then(
      (page) => setContents(page.items),
      () => setContents("failed"), // the first workspace, as before
    );
  }, [weigh, contents]);
  const ready = !weigh || contents !== "unread";
  const landing = landingWorkspace(session.workspaces, Array.isArray(contents) ? contents : undefined);
  const current = session.workspace?.name;
  // The workspace the console opened on its own: not remembered as the admin's choice (a link or the switcher's is).
  const landedOn = useRef<string | null>(null);
  useEffect(() => {
    if (!bare || !ready || !landing) return;
    landedOn.current = landing.name;
    navigate(wsPath(landing.name, "/users"), { replace: true });
  }, [bare, ready, landing]);
  useEffect(() => {
    if (!current || current === landedOn.current) return;
    landedOn.current = null;
    rememberWorkspace(current);
  }, [current]);
  if (path === allWorkspacesPath) return <Shell><AllWorkspacesPage /></Shell>;
  if (!path.startsWith("/w/")) {
    return landing ? <Loading /> : <Shell><NoWorkspace /></Shell>;
  }
  if (!session.workspace) {
    return (
      <Shell>
        <div className="page">
          <h1>Workspace not found</h1>
          <p>The workspace in this address does not exist or you have no access to it. Pick one in the workspace menu.</p>
        </div>
      </Shell>
    );
  }
  const w = session.workspace.name;
  const routes: [string, (p: Record<string, string>) => ReactNode][] = [
    ["/w/:ws/users", () => <UsersPage />],
    ["/w/:ws/users/:id", (p) => <UserPage key={p.id} id={p.id!} />],
    ["/w/:ws/groups", () => <GroupsPage />],
    ["/w/:ws/groups/:id", (p) => <GroupPage key={p.id} id={p.id!} />],
    ["/w/:ws/sync", () => <SyncPage />],
    ["/w/:ws/sync/:source", (p) => <SourcePage key={p.source} name={p.source!} />],
    ["/w/:ws/runs/:id", (p) => <RunPage key={p.id} id={p.id!} />],
    ["/w/:ws/import", () => <ImportPage />],
    ["/w/:ws/settings", () => <SettingsPage />],
    ["/w/:ws/profile", () => <ProfilePage />],
    ["/w/:ws/notifications", () => <NotificationsPage />],
    ["/w/:ws/activity", () => <ActivityPage />],
  ];
  for (const [pattern, render] of routes) {
    const params = match(pattern, path);
    if (params) return <Shell key={w}>{render(params)}</Shell>;
  }
  return (
    <Shell>
      <div className="page">
        <h1>Page not found</h1>
        <p>
          <Link to={wsPath(w, "/users")}>Go to Users</Link>
        </p>
      </div>
    </Shell>
  );
}

function NoWorkspace() {
  return (
    <div className="page">
      <h1>No workspace yet</h1>
      <p>Create a workspace with the workspace menu on the left, or `rollcall workspaces add NAME`.</p>
    </div>
  );
}

const nav = [
  { to: "/users", label: "Users" },
  { to: "/groups", label: "Groups" },
  { to: "/sync", label: "User synchronization" },
  { to: "/import", label: "Import & export" },
  { to: "/notifications", label: "Notifications" },
  { to: "/activity", label: "Activity" },
  { to: "/settings", label: "Settings" },
];

function Shell({ children }: { children: ReactNode }) {
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  // The phone-width menu covers the page: focus goes into it, Escape closes it and returns focus to its button, and
  // the page behind is inert meanwhile (Tab walked on into controls hidden under the menu).
  useEffect(() => {
    if (!menuOpen) return;
    document.querySelector<HTMLElement>("#sidebar a, #sidebar button")?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
      setMenuOpen(false);
      menuButton.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [menuOpen]);
  // On a move to another page, put keyboard and screen-reader focus at the top of the new content.
  const [lastPath, setLastPath] = useState(location.path);
  useEffect(() => {
    if (location.path === lastPath) return;
    setLastPath(location.path);
    if (!document.querySelector("dialog[open]")) document.getElementById("main")?.focus({ preventScroll: true });
  }, [location.path, lastPath]);
  return (
    <SessionContext.Consumer>
      {(session) => {
        const w = session!.workspace?.name;
        const role = session!.workspace?.role;
        return (
          <div className={`shell${menuOpen ? " menu-open" : ""}`}>
            <a className="skip-link" href="#main">
              Skip to content
            </a>
            <header className="topbar">
              <button type="button" ref={menuButton} className="btn-icon menu-button" aria-expanded={menuOpen} aria-controls="sidebar" onClick={() => setMenuOpen((o) => !o)}>
                <span aria-hidden="true">☰</span>
                <span className="visually-hidden">Menu</span>
              </button>
              <span className="brand">
                <span className="brand-mark" aria-hidden="true">R</span> Rollcall
              </span>
            </header>
            <aside id="sidebar" className="sidebar">
              <div className="brand brand-side">
                <span className="brand-mark" aria-hidden="true">R</span> Rollcall
              </div>
              <WorkspaceSwitcher />
              <nav aria-label="Main">
                <ul>
                  {w
                    ? nav.map((item) => {
                        const href = wsPath(w, item.to);
                        const current = location.path === href || location.path.startsWith(`${href}/`) || (item.to === "/sync" && location.path.startsWith(wsPath(w, "/runs")));
                        return (
                          <li key={item.to}>
                            <Link to={href} aria-current={current ? "page" : undefined} onClick={() => setMenuOpen(false)}>
                              {item.label}
                            </Link>
                          </li>
                        );
                      })
                    : null}
                </ul>
              </nav>
              <div className="account">
                <span className="account-email" title={session!.account.email}>
                  {w ? <Link to={wsPath(w, "/profile")} data-testid="account-name">{session!.account.displayName ?? session!.account.email}</Link> : session!.account.email}
                  {role === "viewer" ? <span className="hint"> · read-only</span> : null}
                </span>
                <button type="button" className="btn btn-small" onClick={() => void session!.signOut()}>
                  Sign out
                </button>
              </div>
            </aside>
            <main id="main" tabIndex={-1} inert={menuOpen || undefined}>
              {w ? <NotificationsBanner workspace={w} canDismiss={role === "admin"} /> : null}
              {children}
            </main>
          </div>
        );
      }}
    </SessionContext.Consumer>
  );
}
