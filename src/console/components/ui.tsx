import {
  createContext,
  useCallback,
  useContext,
  useId,
  useState,
  type ReactNode,
  type InputHTMLAttributes,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from "react";
import { ApiError, errorMessage } from "../api.ts";
import { FieldError } from "./field-error.tsx";
import { Link } from "../router.tsx";
import { wsPath } from "../session.tsx";

/* ---------- form fields: every input has a label; an error sits under its field and is announced ---------- */

interface FieldShell {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
}

function describedBy(id: string, error?: string, hint?: ReactNode): string | undefined {
  return [error ? `${id}-error` : "", hint ? `${id}-hint` : ""].filter(Boolean).join(" ") || undefined;
}

function FieldFrame({ id, label, error, hint, children, required }: FieldShell & { id: string; children: ReactNode; required?: boolean | undefined }) {
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={id}>
        {label}
        {required ? <span className="required" aria-hidden="true"> *</span> : null}
      </label>
      {children}
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
      {error ? <FieldError id={`${id}-error`} message={error} /> : null}
    </div>
  );
}

export function TextField({ label, error, hint, ...input }: FieldShell & InputHTMLAttributes<HTMLInputElement>) {
  const auto = useId();
  const id = input.id ?? auto;
  return (
    <FieldFrame id={id} label={label} error={error} hint={hint} required={input.required}>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, error, hint)} {...input} />
    </FieldFrame>
  );
}

export function TextArea({ label, error, hint, ...input }: FieldShell & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const auto = useId();
  const id = input.id ?? auto;
  return (
    <FieldFrame id={id} label={label} error={error} hint={hint} required={input.required}>
      <textarea id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, error, hint)} rows={3} {...input} />
    </FieldFrame>
  );
}

export function SelectField({ label, error, hint, children, ...select }: FieldShell & SelectHTMLAttributes<HTMLSelectElement> & { children: ReactNode }) {
  const auto = useId();
  const id = select.id ?? auto;
  return (
    <FieldFrame id={id} label={label} error={error} hint={hint}>
      <select id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy(id, error, hint)} {...select}>
        {children}
      </select>
    </FieldFrame>
  );
}

export function CheckField({ label, hint, ...input }: { label: string; hint?: ReactNode } & InputHTMLAttributes<HTMLInputElement>) {
  const auto = useId();
  const id = input.id ?? auto;
  return (
    <div className="field field-check">
      <input type="checkbox" id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}

/* ---------- messages ---------- */

/** `words`: the page's own words for the server's message (the CLI options it names, say). */
export function ErrorBanner({ error, retry, title, words = (text) => text }: { error: unknown; retry?: () => void; title?: string; words?: (message: string) => string }) {
  if (!error) return null;
  const fields = error instanceof ApiError ? error.fields : [];
  // Asking again does not make a missing thing appear.
  const again = error instanceof ApiError && error.status === 404 ? undefined : retry;
  return (
    <div className="banner banner-error" role="alert">
      <div>
        <strong>{title ?? "Something went wrong."}</strong> {words(errorMessage(error))}
        {fields.length > 1 ? (
          <ul>
            {fields.map((f, i) => (
              <li key={i}>
                <code>{f.field}</code>: {words(f.message)}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {again ? (
        <button type="button" className="btn btn-small" onClick={again}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** The link back to the page a detail page belongs to (workspace-relative path). */
export function Breadcrumb({ workspace, to, label }: { workspace: string; to: string; label: string }) {
  return (
    <nav className="breadcrumb" aria-label="Breadcrumb">
      <Link to={wsPath(workspace, to)}>{label}</Link>
    </nav>
  );
}

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <span className="spinner" role="status">
      <span className="visually-hidden">{label}</span>
    </span>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function ProgressBar({ value, max, label }: { value: number | null; max: number | null; label: string }) {
  const determinate = value !== null && max !== null && max > 0;
  const percent = determinate ? Math.min(100, Math.round((value / max) * 100)) : null;
  return (
    <div className="progress-wrap">
      <div
        className={`progress${determinate ? "" : " progress-indeterminate"}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
      >
        <div className="progress-fill" style={determinate ? { width: `${percent}%` } : undefined} />
      </div>
      <div className="progress-label">
        {label}
        {percent !== null ? ` · ${percent}%` : ""}
      </div>
    </div>
  );
}

export function Badge({ children, tone = "neutral" }: { children: ReactNode; tone?: "neutral" | "ok" | "warn" | "bad" | "info" }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function tagTone(tag: string): "info" | "ok" | "neutral" | "warn" {
  if (tag === "ID synced") return "info";
  if (tag === "Imported") return "ok";
  if (tag === "Manual") return "neutral";
  return "warn";
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/* ---------- toasts ---------- */

interface Toast {
  id: number;
  text: string;
  tone: "ok" | "bad";
}

const ToastContext = createContext<(text: string, tone?: "ok" | "bad") => void>(() => {});
export const useToast = () => useContext(ToastContext);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const push = useCallback((text: string, tone: "ok" | "bad" = "ok") => {
    const id = Date.now() + Math.random();
    setToasts((t) => [...t.slice(-3), { id, text, tone }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 5000);
  }, []);
  return (
    <ToastContext.Provider value={push}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.tone}`}>
            {t.text}
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

/* ---------- paging ---------- */

/** Where the last page of `total` items starts, `limit` a page. */
export const lastPageOffset = (total: number, limit: number) => Math.max(0, Math.floor((total - 1) / limit) * limit);

export function Pager({ offset, limit, total, onChange }: { offset: number; limit: number; total: number; onChange: (offset: number) => void }) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  const last = lastPageOffset(total, limit);
  return (
    <nav className="pager" aria-label="Pages">
      <span className="pager-count">
        {from.toLocaleString()}–{to.toLocaleString()} of {total.toLocaleString()}
      </span>
      <button type="button" className="btn btn-small" onClick={() => onChange(0)} disabled={offset === 0} aria-label="First page">
        «
      </button>
      <button type="button" className="btn btn-small" onClick={() => onChange(Math.max(0, offset - limit))} disabled={offset === 0}>
        Previous
      </button>
      <button type="button" className="btn btn-small" onClick={() => onChange(offset + limit)} disabled={offset + limit >= total}>
        Next
      </button>
      <button type="button" className="btn btn-small" onClick={() => onChange(last)} disabled={offset + limit >= total} aria-label="Last page">
        »
      </button>
    </nav>
  );
}
