import { Command } from "commander";
import { usersCommand } from "./commands/users.ts";
import { groupsCommand } from "./commands/groups.ts";
import { migrateCommand, tokensCommand, workspacesCommand } from "./commands/workspaces.ts";
import { sourcesCommand } from "./commands/sources.ts";
import { runsCommand, syncCommand } from "./commands/sync.ts";
import { demoCommand } from "./commands/demo.ts";
import { emulatorCommand } from "../emulator/index.ts";
import { adminsCommand, serveCommand } from "./commands/serve.ts";
import { exportCommand, importCommand, templateCommand } from "./commands/import.ts";
import { loginCommand, logoutCommand, userRoleCommand, whoamiCommand } from "./commands/login.ts";
import { notificationsCommand } from "./commands/notifications.ts";
import { activityCommand } from "./commands/activity.ts";
import { refuseLocalOnlyWhenServerSet } from "./io.ts";

const program = new Command("rollcall")
  .description("Rollcall keeps your application's user directory in step with Microsoft Entra ID, spreadsheets and manual entry.")
  .version("0.1.0")
  .showHelpAfterError()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) })
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  })
  .hook("preAction", (_program, command) => refuseLocalOnlyWhenServerSet(command));

for (const command of [usersCommand(), groupsCommand(), workspacesCommand(), tokensCommand(), migrateCommand(), emulatorCommand(), serveCommand(), adminsCommand(), importCommand(), exportCommand(), templateCommand(), sourcesCommand(), syncCommand(), runsCommand(), activityCommand(), demoCommand(), loginCommand(), logoutCommand(), whoamiCommand(), userRoleCommand(), notificationsCommand()]) {
  program.addCommand(command);
}

await program.parseAsync(process.argv);
