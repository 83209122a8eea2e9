import { describe, expect, it } from "vitest";
import { parseEntraConfig } from "../../src/core/sources.ts";
import { RollcallError } from "../../src/errors.ts";
import { tenantIdProblem } from "../../src/sources/entra/config.ts";

/** A refused source setting names its field and says what it takes, in words an admin can act on (not the validator's). */
const problems = (patch: Record<string, unknown>) => {
  try {
    parseEntraConfig({ tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001", ...patch });
  } catch (error) {
    if (error instanceof RollcallError) return (error.details as { fields: { field: string; message: string }[] }).fields;
    throw error;
  }
  return [];
};

describe("Entra source settings: refusal messages", () => {
  it("asks for a secret's expiry date as YYYY-MM-DD", () => {
    for (const value of ["tomorrow", "2027-13-40", "30/06/2027"]) {
      expect(problems({ secretExpiresOn: value })).toEqual([{ field: "secretExpiresOn", message: "must be a date as YYYY-MM-DD, e.g. 2027-06-30" }]);
    }
    expect(problems({ secretExpiresOn: "2027-06-30" })).toEqual([]);
  });

  it("takes a tenant by its ID or a verified domain, and says where to find the ID otherwise", () => {
    for (const value of ["72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso.onmicrosoft.com", "Contoso.com", "corp.contoso.co.uk"]) expect(tenantIdProblem(value)).toBeUndefined();
    for (const value of ["xyz", "contoso", "72f988bf-86f1", "https://login.microsoftonline.com/contoso.com", "contoso..com", "-contoso.com"]) {
      expect(tenantIdProblem(value)).toMatch(/^must be the directory \(tenant\) ID, a GUID .* or a verified domain such as contoso\.onmicrosoft\.com$/);
    }
    expect(tenantIdProblem("organizations")).toMatch(/^"organizations" names no directory: give the tenant's own directory \(tenant\) ID/);
  });

  it("says the full-sync interval's least value as an interval", () => {
    expect(problems({ fullEveryMs: 30 * 60_000 })).toEqual([{ field: "fullEveryMs", message: "must be at least one hour (1h): a full run lists the whole directory" }]);
    expect(problems({ fullEveryMs: 3_600_000 })).toEqual([]);
  });
});
