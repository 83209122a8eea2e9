import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError } from "../api.ts";
import { ErrorBanner, Spinner } from "./ui.tsx";

/**
 * What every form of the console does around its one request: busy while it runs, the last error kept
 * (its field problems keyed by field for the inputs), and the next attempt starting clean.
 */
export function useSubmit(action: () => Promise<unknown>, options: { onError?: (error: unknown) => void } = {}) {
  const [busy, setBusy] = useState(false);
  const running = useRef(false);
  const [error, setError] = useState<unknown>(null);
  // Focus moves once the outcome is rendered (the fields in error marked): the next frame may come before that.
  const [settled, setSettled] = useState<{ form: HTMLFormElement; from: Element | null; failed: boolean } | null>(null);
  useEffect(() => {
    if (settled) keepFocus(settled.form, settled.from, settled.failed);
  }, [settled]);
  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (running.current) return; // the submit button stays focusable while busy (aria-disabled): a second Enter waits
    running.current = true;
    const form = event?.currentTarget instanceof HTMLFormElement ? event.currentTarget : null;
    const from = document.activeElement;
    setBusy(true);
    setError(null);
    let failed = false;
    try {
      await action();
    } catch (e) {
      failed = true;
      setError(e);
      options.onError?.(e);
    } finally {
      running.current = false;
      setBusy(false);
      if (form) setSettled({ form, from, failed });
    }
  };
  const fields = error instanceof ApiError ? error.fieldMap() : {};
  return { busy, error, setError, submit, fields };
}

/**
 * Where keyboard focus goes once a form's request ends: to its first field in error after a failure, else back to
 * where it was, else (that control gone or disabled, so focus fell to the page) the form's first field. Never
 * away from anything the admin moved to meanwhile.
 */
function keepFocus(form: HTMLFormElement, from: Element | null, failed: boolean): void {
  if (!form.isConnected) return;
  const active = document.activeElement;
  // A button disabled just now (Save, nothing left to save) can hold the focus until the browser next drops it on the page.
  const lost = active === null || active === document.body || (active as HTMLButtonElement).disabled === true;
  if (!lost && active !== from) return; // moved on, or placed by the form itself (UserForm focuses its first invalid field)
  const invalid = failed ? form.querySelector<HTMLElement>("[aria-invalid='true']") : null;
  if (invalid) return void invalid.focus();
  if (!lost) return;
  if (from instanceof HTMLElement && from.isConnected && !(from as HTMLButtonElement).disabled) return void from.focus();
  form.querySelector<HTMLElement>("input:not([type=hidden]):not([disabled]):not([readonly]), select:not([disabled]), textarea:not([disabled]):not([readonly])")?.focus();
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
      <button type="submit" className="btn btn-primary" disabled={disabled && !busy} aria-disabled={busy || undefined}>
        {busy ? <Spinner label={busyLabel} /> : null} {label}
      </button>
    </div>
  );
}
