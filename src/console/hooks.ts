import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "./api.ts";
import { setQuery } from "./router.tsx";

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
  /** Puts what a change answered on screen without loading it again. */
  set: (data: T) => void;
}

/**
 * Load something for the screen. A newer load aborts the older one, so a slow answer to an old search
 * can never overwrite the answer to the new one; the last data stays on screen while the next loads.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | Error | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (controller.signal.aborted || (error as Error).name === "AbortError") return;
        setState((s) => ({ data: s.data, error: error as Error, loading: false }));
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const set = useCallback((data: T) => setState({ data, error: undefined, loading: false }), []);
  return { ...state, reload, set };
}

export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** Calls `fn` every `ms` while `active`; the callback may change between renders. */
export function useInterval(fn: () => void, ms: number, active: boolean): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => saved.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Rollcall` : "Rollcall";
  }, [title]);
}

/**
 * A search box bound to the URL's `q` (the current value given): the box updates at once, the URL (and so
 * the request) follows 250 ms after the last key, back to the first page; and the box follows the URL
 * when it changes otherwise (back button, a link with ?q=).
 */
export function useQuerySearch(q: string): [string, (value: string) => void] {
  const [search, setSearch] = useState(q);
  const debounced = useDebounced(search, 250);
  const latest = useRef({ q, debounced });
  latest.current = { q, debounced };
  useEffect(() => {
    if (debounced !== latest.current.q) setQuery({ q: debounced, offset: null });
  }, [debounced]);
  useEffect(() => {
    if (q !== latest.current.debounced) setSearch(q);
  }, [q]);
  return [search, setSearch];
}

/** Whether the window matches a CSS media query, such as the phone width the stylesheet lays out for; follows resizes. */
export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const follow = () => setMatches(list.matches);
    follow();
    list.addEventListener("change", follow);
    return () => list.removeEventListener("change", follow);
  }, [query]);
  return matches;
}
