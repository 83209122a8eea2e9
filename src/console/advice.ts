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

/** An import's problems and errors name the CLI's options; on the Import page they are its fields and steps. */
const importWords: [RegExp, string][] = [
  [/import with --source ("[^"]*"), or --update-existing to take the user over/g, "set Source name to $1, or tick Take over existing users with the same email"],
  [/import with --update-existing to take the user over/g, "tick Take over existing users with the same email to take the user over"],
  [/give the import another --source name/g, "give the import another Source name"],
  [/import with --source to choose another name/g, "choose another Source name"],
  [/ \(a mapping: --mapping FILE, or the console's Columns step\)/g, " (in the Columns step)"],
  [/choose another with --sheet, or the console's Sheet list/g, "choose another in the Sheet list"],
  [
    /^This commit's .* from the latest preview of the upload \(.*\): preview it again with these options .*$/s,
    "The file was checked again since, with other options (in another tab, or by another admin): check it again with the options shown here to see what they do, then import.",
  ],
];

export function importAdvice(message: string): string {
  return importWords.reduce((text, [pattern, words]) => text.replace(pattern, words), message);
}
