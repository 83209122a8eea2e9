import { z } from "zod";
import { invalidInput, type FieldProblem } from "../../errors.ts";
import { bodyProblems } from "../../core/context.ts";
import { topKey } from "../../core/field-problems.ts";
import { entraConfigPatch } from "../../sources/entra/config.ts";
import type { Credential } from "../../sources/entra/token.ts";

/**
 * The body that creates or changes a source, of either kind, and how it is refused: with every problem it has at
 * once (the schema's, the route's own, and what the core's checks say of the fields the schema took), each at its
 * field, so an admin fixing one does not meet the next on the following try.
 */
const pem = z.string().min(1).max(16_384).optional();
export const sourceBody = entraConfigPatch
  .extend({
    type: z.enum(["entra", "scim"]).optional().describe("entra (the default): Rollcall reads the tenant through Graph; scim: Entra ID's provisioning service pushes users and groups to /scim/v2 (takes name, onRemove and country, and sign-in with Microsoft: signIn, tenantId, clientId, cloud, loginUrl and clientSecret; its answer holds the Secret Token, once)"),
    name: z.string().trim().min(1).max(63).optional(),
    clientSecret: z.string().min(1).max(1024).optional(),
    certificatePem: pem,
    privateKeyPem: pem,
    newScimToken: z.boolean().optional().describe("a SCIM source: issue a new Secret Token (in the answer, once); the one before stops working at once"),
  })
  .strict();
export type SourceBody = Record<string, unknown> & { type?: "entra" | "scim"; name?: string; clientSecret?: string; certificatePem?: string; privateKeyPem?: string; newScimToken?: boolean };

/** A body as read: the fields the schema takes (`body`), and the problems of those it refused (`refused`: their keys). */
export interface ReadSourceBody {
  body: SourceBody;
  problems: FieldProblem[];
  refused: Set<string>;
}

export function readSourceBody(raw: unknown): ReadSourceBody {
  const parsed = sourceBody.safeParse(raw);
  if (parsed.success) return { body: parsed.data as SourceBody, problems: [], refused: new Set() };
  const problems = bodyProblems(parsed.error);
  const refused = new Set(problems.map((p) => topKey(p.field)));
  const rest = sourceBody.safeParse(Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([key]) => !refused.has(key))));
  return { body: (rest.success ? rest.data : {}) as SourceBody, problems, refused };
}

/**
 * Refuses the body when it has any problem: the schema's and the route's own (`own`), with those the core's checks
 * (`check`, nothing saved) find in the other fields. When it has none, the core's save checks them itself.
 */
const credentialFields = ["clientSecret", "certificatePem", "privateKeyPem"];

export async function refuseWhole(read: ReadSourceBody, own: FieldProblem[], check: () => Promise<{ problems: FieldProblem[] }>): Promise<void> {
  if (read.problems.length === 0 && own.length === 0) return;
  const ours = own.filter((p) => !read.refused.has(topKey(p.field)));
  const said = new Set([...read.refused, ...ours.map((p) => p.field)]);
  // A credential given but refused is given all the same: the core, which did not get it, does not say one is missing.
  if (credentialFields.some((field) => said.has(field))) credentialFields.forEach((field) => said.add(field));
  const core = (await check()).problems.filter((p) => !said.has(topKey(p.field)) && !said.has(p.field));
  throw invalidInput([...read.problems, ...ours, ...core]);
}

/** The write-only credential of a body: a client secret, or a certificate with its private key, never both. */
export function credentialOf({ clientSecret, certificatePem, privateKeyPem }: SourceBody): { credential: Credential | undefined; problems: FieldProblem[] } {
  if (clientSecret && (certificatePem || privateKeyPem)) return { credential: undefined, problems: [{ field: "clientSecret", message: "give a client secret or a certificate, not both" }] };
  if (clientSecret) return { credential: { kind: "secret", secret: clientSecret }, problems: [] };
  if (!certificatePem && !privateKeyPem) return { credential: undefined, problems: [] };
  if (!certificatePem || !privateKeyPem) return { credential: undefined, problems: [{ field: certificatePem ? "privateKeyPem" : "certificatePem", message: "a certificate needs both certificatePem and privateKeyPem" }] };
  return { credential: { kind: "certificate", certificatePem, privateKeyPem }, problems: [] };
}
