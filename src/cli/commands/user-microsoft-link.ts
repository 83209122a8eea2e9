import type { Command } from "commander";
import type { MicrosoftLink } from "../../core/scim-signin-links.ts";
import { confirm, directoryCommand, runOn, withConfirmation } from "../io.ts";

/**
 * `rollcall users microsoft-link USER` and `rollcall users unlink-microsoft USER`: the Microsoft account (object ID)
 * a SCIM source's sign-in pinned to a user, shown, and unpinned keeping the user (a person whose Entra account was
 * made again is refused name_reused until then).
 */
const linkText = (l: MicrosoftLink) => `Microsoft account ${l.objectId} (linked ${l.linkedAt} by signing in through SCIM source ${l.source})`;

export function microsoftLinkCommand(): Command {
  return directoryCommand("microsoft-link", "show the Microsoft account (object ID) pinned to a SCIM source's user when they first signed in with Microsoft")
    .argument("<user>", "id, email or user principal name")
    .action(async (key: string, opts) =>
      runOn(opts, (directory) => directory.users.microsoftLink(key), {
        human: (r) => (r.link ? linkText(r.link) : `No Microsoft account is linked to ${key}: the next person to sign in with Microsoft as them (by user principal name) is linked.`),
      }),
    );
}

export function unlinkMicrosoftCommand(): Command {
  return withConfirmation(directoryCommand("unlink-microsoft", "unpin the Microsoft account linked to a SCIM source's user, keeping the user: the next person to sign in with Microsoft as them (by user principal name) is linked instead, e.g. when their Entra account was made again and sign-in is refused name_reused"))
    .argument("<user>", "id, email or user principal name")
    .action(async (key: string, opts) =>
      runOn(opts, async (directory) => {
        await confirm(opts, () => `Unlink the Microsoft account of ${key}? Whoever signs in next with Microsoft as them (by user principal name) is linked instead.`);
        return directory.users.unlinkMicrosoft(key);
      }, { human: (r) => `unlinked ${linkText(r.unlinked)} from user ${key}; recorded in their history` }),
    );
}
