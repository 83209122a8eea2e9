import { useEffect, useRef, useState } from "react";

/**
 * Unsaved form edits that outlive a sign-in. When the session ends (expired, revoked) while a form is open,
 * the sign-in page takes the place of the console and the form would go with everything typed in it. So every
 * open form says what it holds (`useKeepDraft`), App writes that to sessionStorage the moment a request answers 401
 * (`keepDrafts`), and once the same account has signed in again, in place or through Microsoft and back to the
 * same address, the page opens the form again with it (`hasDraft`). A draft belongs to its page's address and
 * form, and to the account that typed it; secrets (a PIN, a client secret) are never written: the form asks for
 * them again.
 */
const prefix = "rollcall.draft:";

/** What a form keeps: its values without secrets, and the labels of the secrets it had typed (to ask again). */
export interface Draft<T> {
  value: T;
  dropped: string[];
}
type Stored<T> = Draft<T> & { account: string };

let account: string | null = null;
/** The signed-in account, whose drafts are kept and restored (App sets it on sign-in). */
export function setDraftAccount(id: string | null): void {
  account = id;
}

const keepers = new Map<string, () => Draft<unknown> | undefined>();

const keyOf = (form: string) => `${prefix}${window.location.pathname}#${form}`;

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: nothing is kept, as before
  }
}

function read<T>(key: string): Draft<T> | undefined {
  try {
    const raw = storage()?.getItem(key);
    const stored = raw ? (JSON.parse(raw) as Stored<T>) : undefined;
    if (stored && stored.account === account) return { value: stored.value, dropped: stored.dropped };
    if (stored && account) storage()?.removeItem(key); // another account's: not shown to this one
  } catch {
    // unreadable: as if none was kept
  }
  return undefined;
}

/** Writes every open form's changes (App calls this when a request finds the session gone). */
export function keepDrafts(): void {
  if (!account) return;
  for (const [key, keep] of keepers) {
    const draft = keep();
    try {
      if (draft) storage()?.setItem(key, JSON.stringify({ ...draft, account } satisfies Stored<unknown>));
    } catch {
      // full or disabled: that form's changes are lost, as before
    }
  }
}

/** Forgets every kept draft (signing out on purpose). */
export function clearDrafts(): void {
  const store = storage();
  if (!store) return;
  for (const key of Object.keys(store)) if (key.startsWith(prefix)) store.removeItem(key);
}

/** Whether this page's `form` has a draft to restore: the page then opens that form at once. */
export function hasDraft(form: string): boolean {
  return read(keyOf(form)) !== undefined;
}

/** For a form: the draft kept for it, read once when the form opens (then removed from storage: the form holds it). */
export function useDraft<T>(form: string): Draft<T> | undefined {
  const [key] = useState(() => keyOf(form));
  const [restored] = useState(() => read<T>(key));
  useEffect(() => storage()?.removeItem(key), [key]);
  return restored;
}

/**
 * What to keep of an open form should the session end: `keep` answers the form's values without secrets, or
 * undefined when nothing was changed.
 */
export function useKeepDraft<T>(form: string, keep: () => Draft<T> | undefined): void {
  const latest = useRef(keep);
  latest.current = keep;
  useEffect(() => {
    const key = keyOf(form);
    const keeper = () => latest.current();
    keepers.set(key, keeper);
    return () => {
      if (keepers.get(key) === keeper) keepers.delete(key);
    };
  }, [form]);
}

/** The notice a restored form shows at its top, naming the secrets to type again. */
export function DraftNotice({ draft }: { draft: Draft<unknown> | undefined }) {
  if (!draft) return null;
  const secrets = draft.dropped;
  return (
    <p className="banner banner-info" role="status">
      Your unsaved changes were restored — review and save.
      {secrets.length ? ` ${listed(secrets)} ${secrets.length === 1 ? "is" : "are"} never kept while you sign in: type ${secrets.length === 1 ? "it" : "them"} again.` : null}
    </p>
  );
}

const listed = (items: string[]) => (items.length === 1 ? `The ${items[0]}` : `The ${items.slice(0, -1).join(", ")} and ${items.at(-1)}`);
