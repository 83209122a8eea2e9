import { useEffect, useRef, useState, type ReactNode } from "react";

/**
 * A button that opens a small menu over the page (a <details>), and closes like a menu: on Escape, with
 * the focus back on its button; on a click or the focus anywhere outside it; and on choosing an item.
 */
export function Menu({ label, children }: { label: string; children: ReactNode }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const [open, setOpen] = useState(false);
  const close = () => ref.current?.removeAttribute("open");
  useEffect(() => {
    const details = ref.current;
    if (!open || !details) return;
    const outside = (event: Event) => {
      if (!details.contains(event.target as Node)) close();
    };
    const escape = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      close();
      details.querySelector("summary")?.focus();
    };
    document.addEventListener("pointerdown", outside);
    document.addEventListener("focusin", outside);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("pointerdown", outside);
      document.removeEventListener("focusin", outside);
      document.removeEventListener("keydown", escape);
    };
  }, [open]);
  return (
    <details ref={ref} className="menu" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary className="btn">{label}</summary>
      <div className="menu-list" onClick={(event) => (event.target as HTMLElement).closest("a, button") && close()}>
        {children}
      </div>
    </details>
  );
}
