import { fieldLabel } from "../../domain/change.ts";

/**
 * What a user's values lost when the admin saved them (a phone number's extension, which E.164 cannot hold),
 * shown on the user's page after saving. The API says each as "field: message"; the notice names the field as
 * the form labels it. A user added from the Users page opens on its own page: the warnings wait here for it.
 */
const waiting = new Map<string, string[]>();

export function rememberSaveWarnings(userId: string, warnings: readonly string[]): void {
  if (warnings.length) waiting.set(userId, [...warnings]);
}

/** The warnings of the user's last save, once: a later visit to the page shows none. */
export function takeSaveWarnings(userId: string): string[] {
  const warnings = waiting.get(userId) ?? [];
  waiting.delete(userId);
  return warnings;
}

/** "businessPhones[1]: …" reads "Business phones, line 2: …". */
export function saveWarningText(warning: string): string {
  const parts = /^(\w+)(?:\[(\d+)\])?: ([\s\S]*)$/.exec(warning);
  if (!parts) return warning;
  const [, field, index, message] = parts;
  return `${fieldLabel(field!)}${index !== undefined ? `, line ${Number(index) + 1}` : ""}: ${message}`;
}

export function SaveWarnings({ warnings, onDismiss }: { warnings: readonly string[]; onDismiss: () => void }) {
  if (warnings.length === 0) return null;
  return (
    <div className="banner banner-warn save-warnings" role="status">
      <strong>Saved, but not quite as typed:</strong>
      <ul>
        {warnings.map((warning, i) => (
          <li key={i}>{saveWarningText(warning)}</li>
        ))}
      </ul>
      <button type="button" className="btn btn-small" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
