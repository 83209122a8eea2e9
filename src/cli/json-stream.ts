import { randomUUID } from "node:crypto";

/** A list read a page at a time (a directory's users, a run's change log), to be printed as it is read. */
export type Pages<T> = AsyncIterable<T[]>;

export function isPages(value: unknown): value is Pages<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** Every item of `pages`, held at once: for a human's table, which needs all its rows to size its columns. */
export async function allOf<T>(pages: Pages<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

/**
 * `JSON.stringify(value, null, 2) + "\n"`, byte for byte, in pieces: where `value` is Pages, or an object with Pages
 * among its own properties, each page is written as it is read, so a list of 96,000 users is never held at once.
 * Every list's first page is read before the first piece: a list that cannot be read (an unknown source) leaves
 * nothing written.
 */
export async function* jsonPieces(value: unknown): AsyncGenerator<string> {
  if (isPages(value)) {
    const list = await primed(value);
    yield* arrayPieces(list, 0);
    yield "\n";
    return;
  }
  const streamed = typeof value === "object" && value !== null && !Array.isArray(value) ? Object.entries(value).filter(([, v]) => isPages(v)) : [];
  if (streamed.length === 0) {
    yield JSON.stringify(value, null, 2) + "\n";
    return;
  }
  const marker = `rollcall-pages-${randomUUID()}`;
  const lists = await Promise.all(streamed.map(([, pages]) => primed(pages as Pages<unknown>)));
  const names = new Set(streamed.map(([name]) => name));
  const text = JSON.stringify(Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, names.has(k) ? marker : v])), null, 2) + "\n";
  const around = text.split(JSON.stringify(marker));
  for (const [index, list] of lists.entries()) {
    yield around[index]!;
    yield* arrayPieces(list, 1);
  }
  yield around.at(-1)!;
}

/** A JSON array of `pages`' items as JSON.stringify indents it `depth` levels down: one piece a page. */
async function* arrayPieces(pages: Pages<unknown>, depth: number): AsyncGenerator<string> {
  const indent = " ".repeat(2 * (depth + 1));
  let empty = true;
  for await (const page of pages) {
    if (page.length === 0) continue;
    // JSON escapes a line break inside a string, so each of its own line breaks starts a line to indent.
    const items = page.map((item) => indent + JSON.stringify(item, null, 2).replaceAll("\n", `\n${indent}`));
    yield (empty ? "[\n" : ",\n") + items.join(",\n");
    empty = false;
  }
  yield empty ? "[]" : `\n${" ".repeat(2 * depth)}]`;
}

/** `pages` with its first page already read. */
async function primed<T>(pages: Pages<T>): Promise<Pages<T>> {
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      } finally {
        await iterator.return?.();
      }
    },
  };
}
