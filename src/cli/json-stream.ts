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
 * nothing written. The page after the one being written is read meanwhile, and no further.
 */
export async function* jsonPieces(value: unknown): AsyncGenerator<string> {
  if (isPages(value)) {
    const list = await readingAhead(value);
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
  const lists = await Promise.all(streamed.map(([, pages]) => readingAhead(pages as Pages<unknown>)));
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
  const levels = Array.from({ length: depth + 1 }, (_, level) => " ".repeat(2 * level));
  // A page as deep as the list is, stringified whole (one call a page costs a third of one an item), then taken out of
  // the arrays that put it there.
  const opening = levels.map((indent) => `${indent}[\n`).join("").length;
  const closing = levels.map((indent) => `\n${indent}]`).join("").length;
  let empty = true;
  for await (const page of pages) {
    if (page.length === 0) continue;
    let nested: unknown = page;
    for (let level = 0; level < depth; level++) nested = [nested];
    const text = JSON.stringify(nested, null, 2);
    yield (empty ? "[\n" : ",\n") + text.slice(opening, text.length - closing);
    empty = false;
  }
  yield empty ? "[]" : `\n${levels[depth]}]`;
}

/** `pages` with its first page already read, and each next page read while the one before it is written. */
async function readingAhead<T>(pages: Pages<T>): Promise<Pages<T>> {
  const iterator = pages[Symbol.asyncIterator]();
  let next = iterator.next();
  const first = await next;
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (let result = first; !result.done; result = await next) {
          next = iterator.next();
          next.catch(() => {}); // awaited on the next turn; a failure surfaces there
          yield result.value;
        }
      } finally {
        await iterator.return?.();
      }
    },
  };
}
