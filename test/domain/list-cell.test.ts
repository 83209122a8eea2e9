import { describe, expect, it } from "vitest";
import { joinList, splitList } from "../../src/domain/list-cell.ts";

describe("several values in one cell", () => {
  it("splits on semicolons and commas, trimming, without empty values", () => {
    expect(splitList("Ops; Sales,  Staff ;; ,")).toEqual(["Ops", "Sales", "Staff"]);
    expect(splitList("")).toEqual([]);
  });

  it("keeps a quoted value whole, separators and doubled quotes inside it", () => {
    expect(splitList('"Sales, EMEA"; Ops')).toEqual(["Sales, EMEA", "Ops"]);
    expect(splitList('"The ""A"" team; London",x')).toEqual(['The "A" team; London', "x"]);
    // A quote that is never closed is read as text.
    expect(splitList('"Sales, EMEA')).toEqual(['"Sales', "EMEA"]);
  });

  it("reads back what it wrote", () => {
    const cases = [["Sales, EMEA", "Ops"], ['"Quoted"', "a;b", "plain"], ["one"], ['He said "hi"', " spaced "]];
    for (const values of cases) expect(splitList(joinList(values))).toEqual(values.map((v) => v.trim()));
    expect(joinList(["Ops", "Sales"])).toBe("Ops; Sales");
  });
});
