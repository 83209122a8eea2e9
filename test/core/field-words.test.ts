import { describe, expect, it } from "vitest";
import { z } from "zod";
import { zodProblems } from "../../src/core/context.ts";
import { importOptionsSchema } from "../../src/api/routes/import-schemas.ts";

/** What a field's problem says when the schema has no words of its own: ours, not zod's ("Too big: expected …"). */
describe("field problems in words", () => {
  it("says a limit as a length, a number of entries or a bound", () => {
    const schema = z.object({ name: z.string().max(256), one: z.string().min(1), tags: z.array(z.string()).max(2), count: z.number().max(5), kept: z.string().max(2, "is too long for a card") });
    const refused = schema.safeParse({ name: "x".repeat(300), one: "", tags: ["a", "b", "c"], count: 9, kept: "abc" });
    expect(zodProblems(refused.error!)).toEqual([
      { field: "name", message: "must be at most 256 characters long" },
      { field: "one", message: "must not be empty" },
      { field: "tags", message: "must have at most 2 entries" },
      { field: "count", message: "must be at most 5" },
      { field: "kept", message: "is too long for a card" },
    ]);
  });

  it("says what a flag given as text in a form wants, rather than Invalid input", () => {
    const refused = importOptionsSchema.safeParse({ partial: "yes" });
    expect(zodProblems(refused.error!)).toEqual([{ field: "partial", message: "must be true or false" }]);
  });
});
