/** Groups of groups two levels deep, as the nested-group tests build them: each group's direct members, users by email. */
export const shiftGroups: Record<string, string[]> = {
  "Night leads": ["cy@example.com"],
  "Night shift": ["ada@example.com", "bob@example.com", "Night leads"],
  "Day shift": ["bob@example.com", "dee@example.com"],
  "All staff": ["Night shift", "Day shift", "eve@example.com"],
};
