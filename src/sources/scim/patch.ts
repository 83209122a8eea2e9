import { attribute, attributeKey, scimInvalid, scimSchemas } from "./protocol.ts";

/**
 * SCIM PATCH (RFC 7644 3.5.2) applied to a resource as JSON: the user or group as GET shows it, patched, is then
 * saved as a PUT would save it. Written for what Entra ID's provisioning service sends, including what the
 * "Known issues … SCIM 2.0 protocol compliance" page lists: "Replace"/"Add" capitalised, an operation without a path
 * whose value holds paths as keys ("name.givenName", `emails[type eq "work"].value`), and value filters on
 * multi-valued attributes (`members[value eq "…"]`). Pure.
 */
/** RFC 7644 3.5.2's operations, taken in any case (Entra ID sends "Add", "Replace" and "Remove"). */
export const patchOps = ["add", "replace", "remove"] as const;

export interface PatchOperation {
  op: (typeof patchOps)[number];
  path: string | undefined;
  value: unknown;
}

type Json = Record<string, unknown>;

/** The operations of a PatchOp body, or a SCIM 400 naming what is wrong with which one. */
export function parsePatch(body: unknown): PatchOperation[] {
  const operations = attribute(body, "Operations");
  if (!Array.isArray(operations) || operations.length === 0) throw scimInvalid("invalidSyntax", `a PATCH body holds "Operations", a list of operations (schemas ["${scimSchemas.patchOp}"])`, "Operations");
  return operations.map((raw, index) => {
    const op = attribute(raw, "op");
    const kind = patchOps.find((known) => typeof op === "string" && op.trim().toLowerCase() === known);
    if (!kind) throw scimInvalid("invalidSyntax", `Operations[${index}].op must be add, replace or remove, not ${JSON.stringify(op)}`, `Operations[${index}].op`);
    const path = attribute(raw, "path");
    if (path !== undefined && path !== null && (typeof path !== "string" || path.trim() === "")) throw scimInvalid("invalidPath", `Operations[${index}].path must be an attribute path`, `Operations[${index}].path`);
    return { op: kind, path: typeof path === "string" ? path.trim() : undefined, value: attribute(raw, "value") };
  });
}

/** A patch path: `[urn:…:]attribute[[filterAttribute eq "value"]][.subAttribute]`. */
interface Path {
  /** The extension schema holding the attribute (the enterprise user's), or null for the core schema. */
  extension: string | null;
  attribute: string;
  filter: { attribute: string; value: string } | null;
  sub: string | null;
}

const pathPattern = /^([A-Za-z][\w$-]*)(?:\[\s*([A-Za-z][\w.]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\])?(?:\.([A-Za-z][\w$-]*))?$/i;
const coreSchemas = [scimSchemas.user, scimSchemas.group];

export function parsePath(text: string): Path {
  let rest = text;
  let extension: string | null = null;
  if (/^urn:/i.test(text)) {
    const lower = text.toLowerCase();
    const schema = [scimSchemas.enterprise, ...coreSchemas].find((s) => lower.startsWith(`${s.toLowerCase()}:`));
    if (!schema) throw scimInvalid("invalidPath", `path "${text}" names a schema this server does not have (it has ${[...coreSchemas, scimSchemas.enterprise].join(", ")})`, "path");
    rest = text.slice(schema.length + 1);
    extension = schema === scimSchemas.enterprise ? schema : null;
  }
  const match = pathPattern.exec(rest);
  if (!match) throw scimInvalid("invalidPath", `path "${text}" is not an attribute path such as name.givenName or emails[type eq "work"].value`, "path");
  const filter = match[2] ? { attribute: match[2], value: JSON.parse(`"${match[3]!}"`) as string } : null;
  return { extension, attribute: match[1]!, filter, sub: match[4] ?? null };
}

/** `resource` with `operations` applied in order (a copy: the argument is left as it is). */
export function applyPatch(resource: Json, operations: PatchOperation[]): Json {
  const patched = structuredClone(resource);
  operations.forEach((operation, index) => {
    if (operation.path !== undefined) return applyAt(patched, parsePath(operation.path), operation, index);
    if (operation.op === "remove") throw scimInvalid("noTarget", `Operations[${index}]: a remove operation needs a path`, `Operations[${index}].path`);
    const value = operation.value;
    if (!value || typeof value !== "object" || Array.isArray(value)) throw scimInvalid("invalidValue", `Operations[${index}].value must be an object of attributes when the operation has no path`, `Operations[${index}].value`);
    for (const [key, inner] of Object.entries(value)) {
      const extension = [scimSchemas.enterprise, ...coreSchemas].find((s) => s.toLowerCase() === key.toLowerCase());
      if (extension && inner && typeof inner === "object" && !Array.isArray(inner)) {
        for (const [name, v] of Object.entries(inner)) applyAt(patched, parsePath(`${extension}:${name}`), { ...operation, value: v }, index);
      } else applyAt(patched, parsePath(key), { ...operation, value: inner }, index);
    }
  });
  return patched;
}

function applyAt(resource: Json, path: Path, operation: PatchOperation, index: number): void {
  const holder = path.extension ? objectAt(resource, path.extension) : resource;
  const key = attributeKey(holder, path.attribute) ?? path.attribute;
  const { op, value } = operation;
  if (op !== "remove" && value === undefined) throw scimInvalid("invalidValue", `Operations[${index}] (${op} ${operation.path ?? key}) has no value`, `Operations[${index}].value`);
  if (path.filter) return applyFiltered(holder, key, path, operation);
  if (path.sub) {
    const inner = objectAt(holder, key);
    const sub = attributeKey(inner, path.sub) ?? path.sub;
    if (op === "remove") delete inner[sub];
    else inner[sub] = value;
    return;
  }
  const current = holder[key];
  if (op === "remove") {
    // Entra ID removes members as `{"op":"Remove","path":"members","value":[{"value":"…"}]}`: only those given go.
    if (Array.isArray(current) && Array.isArray(value) && value.length) {
      const gone = new Set(value.map(valueOf));
      holder[key] = current.filter((entry) => !gone.has(valueOf(entry)));
    } else delete holder[key];
    return;
  }
  if (op === "add" && (Array.isArray(current) || Array.isArray(value))) {
    const added = Array.isArray(value) ? value : [value];
    const kept = Array.isArray(current) ? current : [];
    const held = new Set(kept.map(valueOf));
    holder[key] = [...kept, ...added.filter((entry) => !held.has(valueOf(entry)))];
  } else if (op === "add" && isObject(current) && isObject(value)) holder[key] = { ...current, ...value };
  else holder[key] = value;
}

/** `emails[type eq "work"].value`, `members[value eq "…"]`: the entries the filter matches, or a new one for add or replace. */
function applyFiltered(holder: Json, key: string, path: Path, operation: PatchOperation): void {
  const { attribute: by, value: wanted } = path.filter!;
  const list = Array.isArray(holder[key]) ? (holder[key] as unknown[]) : [];
  const matches = (entry: unknown) => String(attribute(entry, by) ?? "").toLowerCase() === wanted.toLowerCase();
  if (operation.op === "remove") {
    if (path.sub) for (const entry of list.filter(matches)) delete (entry as Json)[attributeKey(entry as Json, path.sub) ?? path.sub];
    else holder[key] = list.filter((entry) => !matches(entry));
    return;
  }
  const found = list.filter((entry) => matches(entry) && isObject(entry)) as Json[];
  const given: Json = path.sub ? { [path.sub]: operation.value } : isObject(operation.value) ? operation.value : { value: operation.value };
  if (found.length === 0) holder[key] = [...list, { [by]: wanted, ...given }];
  else for (const entry of found) Object.assign(entry, given);
}

/** An entry of a multi-valued attribute, compared by its `value` (a member's id, an address) or whole. */
function valueOf(entry: unknown): string {
  const value = attribute(entry, "value");
  return value === undefined ? JSON.stringify(entry) : String(value).toLowerCase();
}

function objectAt(holder: Json, name: string): Json {
  const key = attributeKey(holder, name) ?? name;
  if (!isObject(holder[key])) holder[key] = {};
  return holder[key] as Json;
}

const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
