import { useState } from "react";
import { api } from "../api.ts";
import { useCanChange } from "../session.tsx";
import { useLoad } from "../hooks.ts";
import type { User } from "../types.ts";
import type { MicrosoftLink as Link } from "../../core/scim-signin-links.ts";
import { formatDate } from "../format.ts";
import { ErrorBanner, useToast } from "./ui.tsx";
import { ConfirmDialog } from "./dialog.tsx";

/**
 * A SCIM source's user: the Microsoft account (object ID) their first sign-in with Microsoft pinned to them, shown only
 * when there is one, and (for admins) unlinked, keeping the user: for a person whose Entra account was made again,
 * refused sign-in as "name reused" until then.
 */
export function MicrosoftLink({ path, user, onChanged }: { path: string; user: User; onChanged: () => void }) {
  const toast = useToast();
  const canChange = useCanChange();
  const linked = useLoad((signal) => api.get<{ link: Link | null }>(`${path}/microsoft-link`, undefined, { signal }), [path]);
  const [asking, setAsking] = useState(false);
  const link = linked.data?.link;
  if (!link) return <ErrorBanner error={linked.error} title="The linked Microsoft account could not be read." />;
  return (
    <div data-kind="microsoft-link">
      <h3 className="sub">Sign in with Microsoft</h3>
      <p>
        Linked to Microsoft account <code>{link.objectId}</code> since {formatDate(link.linkedAt)} (its first sign-in through {link.source}).
      </p>
      {canChange ? (
        <button type="button" className="btn" onClick={() => setAsking(true)}>
          Unlink Microsoft account
        </button>
      ) : null}
      <ConfirmDialog
        open={asking}
        title={`Unlink ${user.displayName}'s Microsoft account?`}
        confirmLabel="Unlink"
        onClose={() => setAsking(false)}
        onConfirm={async () => {
          await api.del(`${path}/microsoft-link`);
          toast(`Microsoft account unlinked from ${user.displayName}`);
          linked.reload();
          onChanged(); // the unlinking is in their history
        }}
      >
        <p>
          Microsoft account {link.objectId} no longer signs in as this user. The user and their history stay. The next person to sign in with Microsoft as{" "}
          {user.userPrincipalName ?? "them"} (by user principal name) is linked instead: do this when their Entra account was made again and sign-in is refused as a
          reused name.
        </p>
      </ConfirmDialog>
    </div>
  );
}
