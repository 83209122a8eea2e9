import { createContext, useCallback, useContext, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { ErrorBanner, Spinner, useToast } from "./ui.tsx";

/* ---------- dialogs: a modal <dialog> that asks before dropping unsaved changes, confirmations, shown-once secrets ---------- */

/**
 * Where a dialog's keyboard focus starts: the field marked data-initial-focus (a form opened at one part), else its
 * first field that takes input (a radio group's ticked choice), if any.
 */
const firstField = [
  "input:not([type=hidden]):not([type=radio]):not([readonly]):not(:disabled)",
  "input[type=radio]:checked:not(:disabled)",
  "select:not(:disabled)",
  "textarea:not([readonly]):not(:disabled)",
].join(", ");

/** How a form inside a Dialog tells it whether it holds unsaved changes. */
const UnsavedChangesContext = createContext<(changed: boolean) => void>(() => {});

/**
 * For a form inside a Dialog: while `changed`, Escape or × asks before throwing the changes away. Only forms
 * that lose their values on closing need it (those mounted while their dialog is open).
 */
export function useUnsavedChanges(changed: boolean): void {
  const report = useContext(UnsavedChangesContext);
  useEffect(() => {
    report(changed);
    return () => report(false);
  }, [report, changed]);
}

export function Dialog({
  open,
  title,
  onClose,
  children,
  footer,
  wide,
  describedBy,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  /** The id of the text a screen reader reads with the title as the dialog opens. */
  describedBy?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const changed = useRef(false);
  const reportChanged = useCallback((value: boolean) => {
    changed.current = value;
  }, []);
  const [asking, setAsking] = useState(false);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      // showModal() focuses the first focusable element, the × button: a space typed there would close the
      // dialog. The first field takes the focus instead, else the control marked data-autofocus (React's autoFocus
      // cannot: it runs while the dialog is closed).
      dialog.showModal();
      (
        dialog.querySelector<HTMLElement>(".dialog-body [data-initial-focus]") ??
        dialog.querySelector<HTMLElement>(`.dialog-body :is(${firstField})`) ??
        dialog.querySelector<HTMLElement>("[data-autofocus]")
      )?.focus();
    }
    // Closing gives the focus back to what had it before the dialog opened (the button that opened it).
    if (!open && dialog.open) dialog.close();
    if (!open) setAsking(false);
  }, [open]);
  const discard = () => {
    setAsking(false);
    onClose();
  };
  // Asked once already, a second Escape or × means "discard".
  const requestClose = () => (changed.current && !asking ? setAsking(true) : discard());
  return (
    <dialog
      ref={ref}
      className={`dialog${wide ? " dialog-wide" : ""}`}
      aria-labelledby={titleId}
      aria-describedby={open ? describedBy : undefined}
      onCancel={(event) => {
        event.preventDefault();
        requestClose();
      }}
      // Chromium closes a dialog without asking on an Escape that follows a refused one with no click or key
      // in between; the page then follows, as for a second Escape.
      onClose={() => {
        if (open && !ref.current?.open) discard();
      }}
    >
      {open ? (
        <UnsavedChangesContext.Provider value={reportChanged}>
          <header className="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="btn-icon" aria-label="Close" onClick={requestClose}>
              ×
            </button>
            {/* In the sticky header: seen however far down the form the admin is. */}
            {asking ? <DiscardQuestion onKeep={() => setAsking(false)} onDiscard={discard} /> : null}
          </header>
          <div className="dialog-body">{children}</div>
          {footer ? <footer className="dialog-foot">{footer}</footer> : null}
        </UnsavedChangesContext.Provider>
      ) : null}
    </dialog>
  );
}

function DiscardQuestion({ onKeep, onDiscard }: { onKeep: () => void; onDiscard: () => void }) {
  const id = useId();
  // Keyboard focus on the safe answer: Enter keeps the form.
  const keep = useCallback((button: HTMLButtonElement | null) => button?.focus(), []);
  return (
    <div className="banner banner-warn discard-question" role="alertdialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-text`}>
      <div>
        <strong id={`${id}-title`}>Discard your changes?</strong> <span id={`${id}-text`}>What you typed in this form has not been saved.</span>
      </div>
      <div className="actions">
        <button type="button" className="btn btn-small" ref={keep} onClick={onKeep}>
          Keep editing
        </button>
        <button type="button" className="btn btn-small btn-danger" onClick={onDiscard}>
          Discard changes
        </button>
      </div>
    </div>
  );
}

/**
 * "Are you sure?" for destructive actions, with the action's own failure shown inside. An `onConfirm` that
 * resolves to false keeps the dialog open: a field of the dialog shows what to fix.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void | false>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const textId = useId();
  const text = useRef<HTMLDivElement>(null);
  // Refused at a field of the dialog: keyboard focus goes to that field, as in a form.
  const [refused, setRefused] = useState(0);
  useEffect(() => {
    if (refused) text.current?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus();
  }, [refused]);
  useEffect(() => {
    if (open) setError(null);
  }, [open]);
  const confirm = async () => {
    if (busy) return; // the button stays focusable while busy (aria-disabled)
    setBusy(true);
    setError(null);
    try {
      if ((await onConfirm()) === false) setRefused((n) => n + 1);
      else onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onClose}
      describedBy={textId}
      footer={
        <>
          {/* Where focus starts when the dialog holds no field: Enter or Space there changes nothing. */}
          <button type="button" className="btn" onClick={onClose} disabled={busy} data-autofocus>
            Cancel
          </button>
          <button type="button" className={`btn ${danger ? "btn-danger" : "btn-primary"}`} onClick={() => void confirm()} aria-disabled={busy || undefined}>
            {busy ? <Spinner label="Working" /> : null} {confirmLabel}
          </button>
        </>
      }
    >
      <div id={textId} ref={text} className="dialog-text">
        {children}
      </div>
      <ErrorBanner error={error} />
    </Dialog>
  );
}

/** A secret (token, generated password) shown once, with a Copy button and a warning that it will not be shown again. */
export function ShownOnceDialog({ open, title, label, what, value, warning, onClose }: { open: boolean; title: string; label: string; what: string; value: string; warning: ReactNode; onClose: () => void }) {
  const toast = useToast();
  const warningId = useId();
  const copy = () => {
    void navigator.clipboard?.writeText(value).then(
      () => toast(`${what} copied`),
      () => toast(`Copying failed; select the ${what.toLowerCase()} and copy it by hand`, "bad"),
    );
  };
  return (
    <Dialog open={open} title={title} onClose={onClose} describedBy={warningId} footer={<button type="button" className="btn btn-primary" onClick={onClose}>Done</button>}>
      <p className="banner banner-warn" id={warningId}>
        {warning}
      </p>
      <div className="copy-row">
        <input aria-label={label} readOnly value={value} onFocus={(e) => e.target.select()} className="mono" data-autofocus />
        <button type="button" className="btn" onClick={copy}>
          Copy
        </button>
      </div>
    </Dialog>
  );
}
