/**
 * A field's problem under its input, as every form of the console shows it. The API words field problems as
 * phrases ("display name is required", "enter a group name") that read after a field's name in a log line;
 * under a field's label they read as a sentence, so they start with a capital. A message that starts with a
 * quoted value, a number or a capital is shown as it is.
 */
export function fieldMessage(message: string): string {
  return /^[a-z]/.test(message) ? message.charAt(0).toUpperCase() + message.slice(1) : message;
}

export function FieldError({ id, message }: { id?: string | undefined; message: string }) {
  return (
    <div className="field-error" id={id} role="alert">
      {fieldMessage(message)}
    </div>
  );
}
