// The $filter subset sync tools use: eq, ne, startswith, endswith, in, and, or, not, parentheses,
// string/bool/null/number literals, and nested onPremisesExtensionAttributes/extensionAttributeN.
// Compiled once into a predicate over a stored object.
import { badRequest } from "./errors.ts";

export type Pred = (o: Record<string, unknown>) => boolean;
export interface CompiledFilter { pred: Pred; advanced: boolean; properties: string[] }

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

export function compileFilter(src: string, known: Set<string>, entity: string): CompiledFilter {
  const toks = lex(src);
  let pos = 0;
  let advanced = false;
  const properties: string[] = [];
  const peek = (): Tok | undefined => toks[pos];
  const isWord = (w: string): boolean => { const t = peek(); return t?.t === "word" && t.v.toLowerCase() === w; };
  const expectP = (v: string): void => {
    const t = toks[pos++];
    if (!t || t.t !== "p" || t.v !== v) throw badRequest(`Invalid filter clause: '${v}' expected in '${src}'.`);
  };
  const prop = (): string => {
    const t = toks[pos++];
    if (!t || t.t !== "word") throw badRequest(`Invalid filter clause: property expected in '${src}'.`);
    const root = t.v.split("/")[0] as string;
    if (!known.has(root)) throw badRequest(`Could not find a property named '${root}' on type 'microsoft.graph.${entity}'.`);
    if (t.v.includes("/")) advanced = true;
    properties.push(t.v);
    return t.v;
  };
  const literal = (): unknown => {
    const t = toks[pos++];
    if (!t) throw badRequest(`Invalid filter clause: value expected in '${src}'.`);
    if (t.t === "str") return t.v;
    if (t.t === "word") {
      const w = t.v.toLowerCase();
      if (w === "true") return true;
      if (w === "false") return false;
      if (w === "null") { advanced = true; return null; }
      if (/^-?\d+(\.\d+)?$/.test(t.v)) return Number(t.v);
      if (/^[0-9a-f-]{36}$/i.test(t.v)) return t.v;
      if (/^\d{4}-\d\d-\d\dT/.test(t.v)) return t.v;
    }
    throw badRequest(`Invalid filter clause: unexpected '${t.v}' in '${src}'.`);
  };
  const primary = (): Pred => {
    if (peek()?.t === "p" && peek()?.v === "(") { pos++; const e = orExpr(); expectP(")"); return e; }
    if (isWord("not")) { pos++; advanced = true; const e = primary(); return (o) => !e(o); }
    const t = peek();
    if (t?.t === "word" && ["startswith", "endswith"].includes(t.v.toLowerCase()) && toks[pos + 1]?.v === "(") {
      const fn = t.v.toLowerCase();
      if (fn === "endswith") advanced = true;
      pos += 2;
      const p = prop();
      expectP(",");
      const v = String(literal()).toLowerCase();
      expectP(")");
      return fn === "startswith"
        ? (o) => { const x = getPath(o, p); return Array.isArray(x) ? x.some((y) => String(y).toLowerCase().startsWith(v)) : typeof x === "string" && x.toLowerCase().startsWith(v); }
        : (o) => { const x = getPath(o, p); return typeof x === "string" && x.toLowerCase().endsWith(v); };
    }
    const p = prop();
    const opTok = toks[pos++];
    const op = opTok?.t === "word" ? opTok.v.toLowerCase() : "";
    if (op === "in") {
      expectP("(");
      const vals: unknown[] = [literal()];
      while (peek()?.v === ",") { pos++; vals.push(literal()); }
      expectP(")");
      const set = new Set(vals.map(norm));
      return (o) => { const x = getPath(o, p); return Array.isArray(x) ? x.some((y) => set.has(norm(y))) : set.has(norm(x ?? null)); };
    }
    const v = literal();
    switch (op) {
      case "eq": return (o) => equals(getPath(o, p), v);
      case "ne": advanced = true; return (o) => !equals(getPath(o, p), v);
      case "ge": case "gt": case "le": case "lt": {
        const cmp = (x: unknown): number => (String(x ?? "") < String(v) ? -1 : String(x ?? "") > String(v) ? 1 : 0);
        return op === "ge" ? (o) => cmp(getPath(o, p)) >= 0 : op === "gt" ? (o) => cmp(getPath(o, p)) > 0
          : op === "le" ? (o) => cmp(getPath(o, p)) <= 0 : (o) => cmp(getPath(o, p)) < 0;
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
  return { pred, advanced, properties };
}
