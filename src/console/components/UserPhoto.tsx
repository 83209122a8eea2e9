import { useRef, useState } from "react";
import { api, errorMessage, upload, ws } from "../api.ts";
import { useCanChange } from "../session.tsx";
import type { ListedUser, UserDetail } from "../types.ts";
import { useToast } from "./ui.tsx";

/** Up to two letters of a name: "Ada Lovelace" → "AL", "ada@example.com" → "A". */
export function initialsOf(name: string): string {
  const words = name.replace(/@.*/, "").split(/[\s._-]+/).filter(Boolean);
  return (words.length > 1 ? [words[0]!, words.at(-1)!] : words.slice(0, 1)).map((w) => [...w][0]!.toUpperCase()).join("") || "?";
}

/**
 * The user's photo (synced from Entra ID or uploaded), or their initials when there is none. An admin uploads or
 * removes a photo of a user whose source does not sync photos; otherwise the page says where it comes from.
 */
export function UserPhoto({ path, user, onChanged }: { path: string; user: UserDetail; onChanged: () => void }) {
  const toast = useToast();
  const canChange = useCanChange();
  const [version, setVersion] = useState(0);
  const [missing, setMissing] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const file = useRef<HTMLInputElement>(null);
  const shown = missing !== version;
  const owned = user.photoSource === null;

  async function change(action: () => Promise<unknown>, done: string) {
    setBusy(true);
    try {
      await action();
      setVersion((v) => v + 1);
      toast(done);
      onChanged(); // the history shows the change
    } catch (error) {
      toast(errorMessage(error), "bad");
    } finally {
      setBusy(false);
      if (file.current) file.current.value = "";
    }
  }
  const chosen = (picked: File | undefined) => {
    if (!picked) return;
    const form = new FormData();
    form.append("photo", picked);
    void change(() => upload(`${path}/photo`, form, undefined, undefined, "PUT"), `Photo of ${user.displayName} saved`);
  };

  return (
    <div className="user-photo" data-kind="user-photo">
      {shown ? (
        <img src={`/api/v1${path}/photo?v=${encodeURIComponent(`${user.updatedAt}-${version}`)}`} alt={`Photo of ${user.displayName}`} width={96} height={96} onError={() => setMissing(version)} />
      ) : (
        <span className="avatar-initials" role="img" aria-label={`${user.displayName} has no photo`}>
          {initialsOf(user.displayName)}
        </span>
      )}
      {canChange && owned ? (
        <div className="user-photo-actions">
          <label className="btn btn-small">
            {shown ? "Replace photo" : "Upload photo"}
            <input ref={file} type="file" accept="image/jpeg,image/png" hidden disabled={busy} onChange={(e) => chosen(e.target.files?.[0])} />
          </label>
          {shown ? (
            <button type="button" className="btn btn-small" disabled={busy} onClick={() => void change(() => api.del(`${path}/photo`), `Photo of ${user.displayName} removed`)}>
              Remove photo
            </button>
          ) : null}
        </div>
      ) : null}
      {user.photoSource !== null ? <span className="muted small">Synced from {user.photoSource}</span> : null}
    </div>
  );
}

/**
 * A list row's avatar: the photo of a user who has one (the list says so: no request for those who have none), fetched
 * only when the row scrolls into view and kept by the browser, revalidated by its ETag (a 304); else their initials.
 * Decorative: the row names the user.
 */
export function UserAvatar({ workspace, user }: { workspace: string; user: ListedUser }) {
  const [failed, setFailed] = useState(false);
  if (user.hasPhoto && !failed) {
    const src = `/api/v1${ws(workspace, `/users/${encodeURIComponent(user.id)}/photo`)}`;
    return <img className="avatar" data-kind="user-avatar" src={src} alt="" width={32} height={32} loading="lazy" decoding="async" onError={() => setFailed(true)} />;
  }
  return <span className="avatar avatar-small-initials" data-kind="user-avatar" aria-hidden="true">{initialsOf(user.displayName)}</span>;
}
