import { describe, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";

/** Switching workspace keeps the kind of page shown: the same page of the other workspace. */
describe.skipIf(!hasChromium)("web console: the workspace switcher", () => {
  const ui = signedInConsole((server) => createWorkspace(server.rt.store.db, { name: "lab" }));

  for (const page of ["activity", "notifications", "profile", "groups"]) {
    it(`keeps the ${page} page`, async () => {
      await ui.page.goto(`${ui.server.url}/w/default/${page}`);
      await ui.page.getByLabel("Workspace").selectOption("lab");
      await ui.page.waitForURL(`${ui.server.url}/w/lab/${page}`);
    });
  }

  it("goes from a run's page to the other workspace's synchronization page", async () => {
    await ui.page.goto(`${ui.server.url}/w/default/runs/00000000-0000-4000-8000-000000000000`);
    await ui.page.getByLabel("Workspace").selectOption("lab");
    await ui.page.waitForURL(`${ui.server.url}/w/lab/sync`);
  });
});
