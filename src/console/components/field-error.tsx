/** Field names of the API that its messages name, as the console's labels say them. */
const fieldWords: Record<string, string> = { userPrincipalName: "user principal name" };

/**
 * A field's problem under its input, as every form of the console shows it. The API words field problems as
 * phrases ("display name is required", "enter a group name") that read after a field's name in a log line;
 * under a field's label they read as a sentence, so they start with a capital. A message that starts with a
 * quoted value, a number, a capital or a URL is shown as it is. A field name of the API in it ("or give a
 * userPrincipalName") is said as the form's label says it.
 */
export function fieldMessage(message: string): string {
  const worded = message.replace(/\b[a-z]+[A-Z]\w*\b/g, (name) => fieldWords[name] ?? name);
  // A URL said first ("https://host is not…") keeps its scheme as typed.
  return /^[a-z]/.test(worded) && !/^[a-z][a-z\d+.-]*:\/\//.test(worded) ? worded.charAt(0).toUpperCase() + worded.slice(1) : worded;
}

export function FieldError({ id, message }: { id?: string | undefined; message: string }) {
  return (
    <div className="field-error" id={id} role="alert">
      {fieldMessage(message)}
    </div>
  );
}
