/**
 * A source's advice from the server (a connect check, a failed or stopped run, a run's warning) names the CLI
 * command that fixes it (`rollcall sources update NAME --client-secret-env VAR`, `--force`), for the CLI and the
 * API's other clients. In the console the same fix is a button or a field of the source's settings: the
 * console says which, and keeps the rest of the message as the server wrote it.
 */
const inConsoleWords: [RegExp, string][] = [
  [/, then run `rollcall sources update [^`]*--client-secret-env VAR --secret-expires-on YYYY-MM-DD`\./g, ", then paste its Value in the source's Edit settings > Replace secret, with its expiry date."],
  [/, then run `rollcall sources update [^`]*--client-secret-env VAR`\./g, ", then paste its Value in the source's Edit settings > Replace secret."],
  [/Set one with `rollcall sources update [^`]*--client-secret-env VAR`\./g, "Set one in the source's Edit settings > Replace secret."],
  [/with `rollcall sources update [^`]*--group-attribute PROPERTY`/g, "in the source's Edit settings > Groups"],
  [/change it with `rollcall sources update [^`]*--map [^`]*`/g, "change it in the source's Edit settings > Attribute mapping"],
  [/\(rollcall sources update [^()]*?[;,] or the source's settings in the console\)/g, "(in the source's Edit settings)"],
  [/run it once with --force \(or approve the run\)/g, "apply it with Apply these changes on the run's page"],
];

export function sourceAdvice(message: string): string {
  return inConsoleWords.reduce((text, [pattern, words]) => text.replace(pattern, words), message);
}
