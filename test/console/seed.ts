import type { Runtime } from "../../src/runtime.ts";
import { createUser } from "../../src/core/users.ts";
import { addMember, createGroup } from "../../src/core/groups.ts";
import { resolveWorkspace, updateWorkspace } from "../../src/core/workspaces.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";

/** A small, believable directory: manual, imported and Entra-synced users, two groups. */
export async function seedDirectory(rt: Runtime, workspaceName = "default"): Promise<WorkspaceContext> {
  let workspace = await resolveWorkspace(rt.store.db, workspaceName);
  workspace = await updateWorkspace(rt.store.db, workspace, { defaultCountry: "US" }, "seed");
  const ctx: WorkspaceContext = { db: rt.store.db, workspace, actor: "seed" };
  const people: [string, string, string, string][] = [
    ["Ada Lovelace", "ada@contoso.com", "Engineering", "Principal Engineer"],
    ["Grace Hopper", "grace@contoso.com", "Engineering", "Rear Admiral"],
    ["Katherine Johnson", "katherine@contoso.com", "Research", "Mathematician"],
    ["Alan Turing", "alan@contoso.com", "Research", "Cryptanalyst"],
    ["Margaret Hamilton", "margaret@contoso.com", "Engineering", "Director"],
    ["Edsger Dijkstra", "edsger@contoso.com", "Research", "Professor"],
  ];
  const entra = { type: "entra" as const, name: "contoso", id: null, externalId: null };
  const imported = { type: "import" as const, name: "hr-2026.csv", id: null, externalId: null };
  for (const [index, [displayName, email, department, jobTitle]] of people.entries()) {
    const [givenName, surname] = displayName.split(" ");
    const source = index < 3 ? { ...entra, externalId: `00000000-0000-4000-8000-00000000000${index}` } : index < 5 ? imported : undefined;
    await createUser(ctx, { displayName, email, givenName, surname, department, jobTitle, mobilePhone: `+1 415 555 01${10 + index}`, cardNumbers: [`CARD-${1000 + index}`] }, source);
  }
  await createUser(ctx, { displayName: "Front Desk", email: "frontdesk@contoso.com", department: "Facilities", enabled: false });
  await createGroup(ctx, { name: "Engineering", description: "Everyone who builds things" });
  await createGroup(ctx, { name: "Research", description: "Labs and theory" });
  for (const email of ["ada@contoso.com", "grace@contoso.com", "margaret@contoso.com"]) await addMember(ctx, "Engineering", email);
  for (const email of ["katherine@contoso.com", "alan@contoso.com", "edsger@contoso.com"]) await addMember(ctx, "Research", email);
  return ctx;
}
