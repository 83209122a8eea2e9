import { useState, type FormEvent } from "react";
import { ApiError } from "../api.ts";
import { ErrorBanner, Spinner } from "./ui.tsx";

/**
 * What every form of the console does around its one request: busy while it runs, the last error kept
 * (its field problems keyed by field for the inputs), and the next attempt starting clean.
 */
export function useSubmit(action: () => Promise<unknown>, options: { onError?: (error: unknown) => void } = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
      options.onError?.(e);
    } finally {
      setBusy(false);
    }
  };
  const fields = error instanceof ApiError ? error.fieldMap() : {};
  return { busy, error, setError, submit, fields };
}

/** The banner for a failure no field shows: nothing when the API put every problem at a field. */
export function FormError({ error, fields, title }: { error: unknown; fields: Record<string, string>; title?: string }) {
  return Object.keys(fields).length ? null : <ErrorBanner error={error} title={title} />;
}

/** A form's footer: Cancel (when the form sits in a dialog) and the submit button with its spinner. */
export function FormActions({ busy, label, busyLabel = "Saving", disabled, onCancel }: { busy: boolean; label: string; busyLabel?: string; disabled?: boolean; onCancel?: () => void }) {
  return (
    <div className="form-actions">
      {onCancel ? (
        <button type="button" className="btn" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      ) : null}
      <button type="submit" className="btn btn-primary" disabled={busy || disabled}>
        {busy ? <Spinner label={busyLabel} /> : null} {label}
      </button>
    </div>
  );
}
