import type { Command } from "commander";
import { usersCommand } from "./commands/users.ts";
import { groupsCommand } from "./commands/groups.ts";
import { migrateCommand, tokensCommand, workspacesCommand } from "./commands/workspaces.ts";
import { secretKeyCommand } from "./commands/secret-key.ts";
import { copyDatabaseCommand } from "./commands/copy-database.ts";
import { sourcesCommand } from "./commands/sources.ts";
import { runsCommand, syncCommand } from "./commands/sync.ts";
import { demoCommand } from "./commands/demo.ts";
import { emulatorCommand } from "../emulator/cli.ts";
import { adminsCommand, serveCommand } from "./commands/serve.ts";
import { exportCommand, importCommand, templateCommand } from "./commands/import.ts";
import { loginCommand, logoutCommand, userRoleCommand, whoamiCommand } from "./commands/login.ts";
import { notificationsCommand } from "./commands/notifications.ts";
import { activityCommand } from "./commands/activity.ts";

/** Every top-level `rollcall` command, in the order `rollcall --help` lists them. */
export function allCommands(): Command[] {
  return [usersCommand(), groupsCommand(), workspacesCommand(), tokensCommand(), migrateCommand(), secretKeyCommand(), copyDatabaseCommand(), emulatorCommand(), serveCommand(), adminsCommand(), importCommand(), exportCommand(), templateCommand(), sourcesCommand(), syncCommand(), runsCommand(), activityCommand(), demoCommand(), loginCommand(), logoutCommand(), whoamiCommand(), userRoleCommand(), notificationsCommand()];
}
