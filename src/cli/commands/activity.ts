import type { ActivityPage } from "../../core/change-log.ts";
import { actionLabel, activityActionMessage, activityKinds, isActivityAction } from "../../domain/change.ts";
import { changeDetails } from "../change-lines.ts";
import { InvalidArgumentError } from "commander";
import { directoryCommand, positiveInteger, runOn } from "../io.ts";
import { describeActor } from "../../domain/actor.ts";

/** `rollcall activity`: the workspace's changes not made by a sync run, newest first. */
export function activityCommand() {
  return directoryCommand("activity", "the workspace's changes not made by a sync run, newest first: who changed what (edits, imports, sources, tokens, settings)")
    .option("--actor <who>", `only this actor's changes, as listed or as stored: an admin's email, "alice (CLI)" or cli:alice (the CLI run by that OS account), CLI (any account), 'API token "NAME"' or token:NAME`)
    .option("--action <kind>", `only this kind of change: ${activityKinds.join(", ")}; or one group's, e.g. "add to group Pilots"`, activityAction)
    .option("--limit <n>", "how many changes", positiveInteger, 50)
    .option("--before <entry>", "the entries before this one (the number a previous page printed as next)", activityEntry)
    .action(async (opts) =>
      runOn(opts, (directory) => directory.activity({ actor: opts.actor, action: opts.action }, { limit: opts.limit, before: opts.before }), { human: describeActivity }),
    );
}

function describeActivity({ items, next }: ActivityPage): string {
  if (items.length === 0) return "No changes recorded.";
  const lines = items.flatMap((c) => [`${c.at}  ${actionLabel(c.action)}: ${c.subject} by ${describeActor(c.actor)}`, ...changeDetails(c, "    ")]);
  if (next) lines.push(`… older changes: --before ${next}`);
  return lines.join("\n");
}

/** --before takes the entry number a page printed (`… older changes: --before 1234`). */
function activityEntry(value: string): string {
  if (!/^\d{1,19}$/.test(value)) throw new InvalidArgumentError("It must be the entry number a previous page printed as `--before N`.");
  return value;
}

function activityAction(value: string): string {
  if (!isActivityAction(value)) throw new InvalidArgumentError(`It ${activityActionMessage}.`);
  return value;
}
