/**
 * Advice names the command to run as `rollcall sources update NAME …`; with the source's name known, the command
 * can be copied as it is (the name quoted when the shell needs it).
 */
export function adviceFor(message: string, source: AdvisedSource | undefined): string {
  if (!source) return message;
  const quoted = (word: string) => (/^[\w.@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
  const workspace = source.workspace === "default" ? "" : ` --workspace ${quoted(source.workspace)}`;
  return message.replaceAll("rollcall sources update NAME", `rollcall sources update ${quoted(source.name)}${workspace}`);
}

export interface AdvisedSource {
  name: string;
  workspace: string;
}
