// The $filter subset sync tools use: eq, ne, ge, le, startswith, endswith, in, and, or, not, parentheses, any on
// collections, string/bool/null/number literals, and nested onPremisesExtensionAttributes/extensionAttributeN.
// Compiled once into a predicate over a stored object, with the operators it uses on each property (filterable.ts
// decides which Graph serves, and which only as advanced queries).
import { badRequest } from "./errors.ts";
import type { FilterUse } from "./filterable.ts";

export type Pred = (o: Record<string, unknown>) => boolean;
export interface CompiledFilter { pred: Pred; uses: FilterUse[] }

type Tok = { t: "str"; v: string } | { t: "word"; v: string } | { t: "p"; v: string };

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) { i++; continue; }
    if (c === "(" || c === ")" || c === ",") { out.push({ t: "p", v: c }); i++; continue; }
    if (c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= s.length) throw badRequest(`Invalid filter clause: unterminated string literal.`);
        if (s[i] === "'") { if (s[i + 1] === "'") { v += "'"; i += 2; continue; } i++; break; }
        v += s[i++];
      }
      out.push({ t: "str", v });
      continue;
    }
    const m = /^[A-Za-z0-9_./:@$#+-]+/.exec(s.slice(i));
    if (!m) throw badRequest(`Invalid filter clause: syntax error at position ${i} in '${s}'.`);
    out.push({ t: "word", v: m[0] });
    i += m[0].length;
  }
  return out;
}

function getPath(o: Record<string, unknown>, path: string): unknown {
  if (!path.includes("/")) return o[path];
  let cur: unknown = o;
  for (const part of path.split("/")) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[part] : undefined;
  return cur;
}

const norm = (v: unknown): unknown => (typeof v === "string" ? v.toLowerCase() : v);
function equals(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return a.some((x) => norm(x) === norm(b));
  return norm(a ?? null) === norm(b);
}

/** `collections`: the entity's multi-valued properties, which Graph filters only through `any` (`proxyAddresses/any(p:p eq 'x')`). */
export function compileFilter(src: string, known: Set<string>, entity: string, collections: Set<string> = new Set()): CompiledFilter {
  const toks = lex(src);
  let pos = 0;
  let negated = 0;
  let lambda: { variable: string; property: string } | undefined;
  const uses: FilterUse[] = [];
  const peek = (): Tok | undefined => toks[pos];
  const isWord = (w: string): boolean => { const t = peek(); return t?.t === "word" && t.v.toLowerCase() === w; };
  const expectP = (v: string): void => {
    const t = toks[pos++];
    if (!t || t.t !== "p" || t.v !== v) throw badRequest(`Invalid filter clause: '${v}' expected in '${src}'.`);
  };
  const use = (property: string, op: FilterUse["op"]): void => {
    uses.push({ property, op });
    if (negated > 0) uses.push({ property, op: "not" });
  };
  /** A property path; inside a lambda, its variable (or a path below it) stands for the collection's element. */
  const prop = (): { path: string; property: string } => {
    const t = toks[pos++];
    if (!t || t.t !== "word") throw badRequest(`Invalid filter clause: property expected in '${src}'.`);
    const root = t.v.split("/")[0] as string;
    if (lambda && root === lambda.variable) return { path: t.v, property: lambda.property };
    if (!known.has(root)) throw badRequest(`Could not find a property named '${root}' on type 'microsoft.graph.${entity}'.`);
    return { path: t.v, property: t.v };
  };
  const single = (p: { path: string; property: string }, operator: string): void => {
    if (!lambda && collections.has(p.path)) {
      throw badRequest(`Invalid filter clause: The operand for a binary operator '${operator}' is not a single value. Binary operators require both operands to be single values.`);
    }
  };
  const literal = (): unknown => {
    const t = toks[pos++];
    if (!t) throw badRequest(`Invalid filter clause: value expected in '${src}'.`);
    if (t.t === "str") return t.v;
    if (t.t === "word") {
      const w = t.v.toLowerCase();
      if (w === "true") return true;
      if (w === "false") return false;
      if (w === "null") return null;
      if (/^-?\d+(\.\d+)?$/.test(t.v)) return Number(t.v);
      if (/^[0-9a-f-]{36}$/i.test(t.v)) return t.v;
      if (/^\d{4}-\d\d-\d\d(T|$)/.test(t.v)) return t.v;
    }
    throw badRequest(`Invalid filter clause: unexpected '${t.v}' in '${src}'.`);
  };
  /** `proxyAddresses/any(p:startsWith(p,'smtp:'))`: the lexer reads `p:startsWith` as one word; split it back. */
  const anyLambda = (collection: string): Pred => {
    pos += 2;
    const head = toks[pos];
    const m = head?.t === "word" ? /^([A-Za-z_]\w*):(.+)$/.exec(head.v) : null;
    if (!m) throw badRequest(`Invalid filter clause: a lambda variable expected in '${src}'.`);
    toks[pos] = { t: "word", v: m[2] as string };
    const outer = lambda;
    lambda = { variable: m[1] as string, property: collection };
    const body = orExpr();
    lambda = outer;
    expectP(")");
    const variable = m[1] as string;
    return (o) => { const x = getPath(o, collection); return Array.isArray(x) && x.some((el) => body({ [variable]: el })); };
  };
  const primary = (): Pred => {
    if (peek()?.t === "p" && peek()?.v === "(") { pos++; const e = orExpr(); expectP(")"); return e; }
    if (isWord("not")) { pos++; negated++; const e = primary(); negated--; return (o) => !e(o); }
    const t = peek();
    if (t?.t === "word" && /\/any$/i.test(t.v) && toks[pos + 1]?.v === "(") {
      const collection = t.v.slice(0, -4);
      if (!known.has(collection)) throw badRequest(`Could not find a property named '${collection}' on type 'microsoft.graph.${entity}'.`);
      return anyLambda(collection);
    }
    if (t?.t === "word" && ["startswith", "endswith"].includes(t.v.toLowerCase()) && toks[pos + 1]?.v === "(") {
      const fn = t.v.toLowerCase();
      pos += 2;
      const p = prop();
      single(p, fn);
      use(p.property, fn === "startswith" ? "startsWith" : "endsWith");
      expectP(",");
      const v = String(literal()).toLowerCase();
      expectP(")");
      return fn === "startswith"
        ? (o) => { const x = getPath(o, p.path); return typeof x === "string" && x.toLowerCase().startsWith(v); }
        : (o) => { const x = getPath(o, p.path); return typeof x === "string" && x.toLowerCase().endsWith(v); };
    }
    const p = prop();
    const opTok = toks[pos++];
    const op = opTok?.t === "word" ? opTok.v.toLowerCase() : "";
    if (op === "in") {
      single(p, "In");
      use(p.property, "in");
      expectP("(");
      const vals: unknown[] = [literal()];
      while (peek()?.v === ",") { pos++; vals.push(literal()); }
      expectP(")");
      const set = new Set(vals.map(norm));
      return (o) => set.has(norm(getPath(o, p.path) ?? null));
    }
    const v = literal();
    single(p, op === "eq" ? "Equal" : op === "ne" ? "NotEqual" : "GreaterThanOrEqual");
    switch (op) {
      case "eq": use(p.property, v === null ? "null" : "eq"); return (o) => equals(getPath(o, p.path), v);
      case "ne": use(p.property, "ne"); if (v === null) use(p.property, "null"); return (o) => !equals(getPath(o, p.path), v);
      case "ge": case "gt": case "le": case "lt": {
        use(p.property, op);
        const cmp = (x: unknown): number => (String(x ?? "") < String(v) ? -1 : String(x ?? "") > String(v) ? 1 : 0);
        return op === "ge" ? (o) => cmp(getPath(o, p.path)) >= 0 : op === "gt" ? (o) => cmp(getPath(o, p.path)) > 0
          : op === "le" ? (o) => cmp(getPath(o, p.path)) <= 0 : (o) => cmp(getPath(o, p.path)) < 0;
      }
      default: throw badRequest(`Invalid filter clause: unsupported operator '${op}' in '${src}'.`);
    }
  };
  const andExpr = (): Pred => {
    let l = primary();
    while (isWord("and")) { pos++; const a = l, b = primary(); l = (o) => a(o) && b(o); }
    return l;
  };
  const orExpr = (): Pred => {
    let l = andExpr();
    while (isWord("or")) { pos++; const a = l, b = andExpr(); l = (o) => a(o) || b(o); }
    return l;
  };
  const pred = orExpr();
  if (pos !== toks.length) throw badRequest(`Invalid filter clause: syntax error at '${(toks[pos] as Tok).v}' in '${src}'.`);
  return { pred, uses };
}
