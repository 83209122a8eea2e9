import { useEffect, useRef, type ReactNode } from "react";

/**
 * A button that opens a small menu over the page (a <details>), and closes like a menu: on Escape, with
 * the focus back on its button; on a click or the focus anywhere outside it; and on choosing an item.
 */
export function Menu({ label, children }: { label: string; children: ReactNode }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const close = () => ref.current?.removeAttribute("open");
  useEffect(() => {
    const details = ref.current;
    if (!details) return;
    const outside = (event: Event) => {
      if (details.open && !details.contains(event.target as Node)) close();
    };
    const escape = (event: KeyboardEvent) => {
      if (!details.open || event.key !== "Escape") return;
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
  }, []);
  return (
    <details ref={ref} className="menu">
      <summary className="btn">{label}</summary>
      <div className="menu-list" onClick={(event) => (event.target as HTMLElement).closest("a, button") && close()}>
        {children}
      </div>
    </details>
  );
}
