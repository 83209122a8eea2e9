// How the console names where a user comes from, and shows whether they are enabled: the Users list and a user's page alike.
import type { User } from "../types.ts";
import { keptFrom } from "../../domain/source.ts";
import { Badge } from "./ui.tsx";

export const StatusBadge = ({ user }: { user: Pick<User, "enabled"> }) => (user.enabled ? <Badge tone="ok">Enabled</Badge> : <Badge tone="bad">Disabled</Badge>);

/** "Entra ID: contoso", "Import: staff.csv", "Added by hand", "Kept from Entra ID: contoso" (its source was removed). */
export function sourceLabel(user: Pick<User, "source">): string {
  switch (user.source.type) {
    case "manual": {
      const removed = keptFrom(user.source);
      return removed ? `Kept from Entra ID: ${removed}` : "Added by hand";
    }
    case "import":
      return user.source.name && user.source.name !== "import" ? `Import: ${user.source.name}` : "Imported";
    case "entra":
      return `Entra ID: ${user.source.name}`;
    case "scim":
      return `Entra ID (SCIM): ${user.source.name}`;
    default:
      return user.source.name;
  }
}
