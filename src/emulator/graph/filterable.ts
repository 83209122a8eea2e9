// Which $filter operators Graph serves on which directory properties, by default or only as an advanced query
// (ConsistencyLevel: eventual and $count=true). Users: the table of "Advanced query capabilities on Microsoft Entra
// ID objects" (https://learn.microsoft.com/graph/aad-advanced-queries#support-for-filter-by-properties-of-microsoft-entra-id-directory-objects);
// groups: the operators the group resource lists per property, default where the users' table has the same property
// as default, advanced where the docs do not say (so a query that passes here does not fail against Graph).
// Its rules: `in` works by default wherever `eq` does; `ne` and `not` only in advanced queries; `endsWith` only in
// advanced queries, on mail, otherMails, userPrincipalName and proxyAddresses; a property not listed has no $filter.
import { badRequest } from "./errors.ts";
import type { Entity } from "./schema.ts";

export type FilterOp = "eq" | "ne" | "not" | "ge" | "le" | "in" | "startsWith" | "endsWith" | "null";
export interface FilterUse { property: string; op: FilterOp | "gt" | "lt" }
type Support = "default" | "advanced";

const D = "default", A = "advanced", _ = undefined;
const COLUMNS: FilterOp[] = ["eq", "ne", "not", "ge", "le", "in", "startsWith", "null"];
type Row = (Support | undefined)[];

const USERS: Record<string, Row> = {
  accountEnabled: [D, A, A, A, A, D, _, _],
  ageGroup: [D, A, A, _, _, D, _, _],
  assignedLicenses: [D, _, A, _, _, _, _, _],
  assignedPlans: [D, _, A, _, _, _, _, _],
  businessPhones: [D, _, A, _, _, _, _, _],
  city: [D, A, A, D, _, D, D, A],
  companyName: [A, A, A, A, A, A, A, A],
  consentProvidedForMinor: [D, A, A, _, _, D, _, _],
  country: [D, A, A, D, D, D, D, A],
  createdDateTime: [D, A, A, D, D, A, _, _],
  creationType: [D, A, A, _, _, D, _, _],
  deletedDateTime: [D, A, A, D, D, A, _, _],
  department: [D, A, A, D, D, D, D, A],
  displayName: [D, A, A, _, _, D, D, A],
  employeeHireDate: [A, A, _, A, A, A, _, _],
  employeeId: [D, A, _, _, A, _, D, A],
  employeeType: [A, A, _, A, A, A, A, _],
  givenName: [D, A, _, D, D, D, D, A],
  id: [D, A, A, _, _, _, _, _],
  identities: [D, _, _, _, _, _, _, _],
  imAddresses: [D, A, A, D, D, _, D, _],
  isResourceAccount: [D, A, _, _, _, _, _, _],
  jobTitle: [D, A, _, D, D, D, _, A],
  mail: [D, A, _, D, D, D, D, _],
  mailNickname: [D, A, _, D, D, D, D, A],
  mobilePhone: [A, A, _, A, A, A, A, A],
  officeLocation: [A, A, _, A, A, A, A, A],
  onPremisesExtensionAttributes: [A, A, _, A, A, A, _, _],
  onPremisesImmutableId: [A, A, _, A, A, A, _, _],
  onPremisesLastSyncDateTime: [A, A, _, A, A, A, _, _],
  onPremisesSamAccountName: [A, A, _, A, A, A, A, _],
  onPremisesSecurityIdentifier: [D, A, _, _, _, D, _, A],
  onPremisesSyncEnabled: [D, A, _, A, A, D, _, _],
  onPremisesUserPrincipalName: [D, A, _, D, D, D, D, _],
  otherMails: [D, A, _, D, D, D, D, _],
  passwordPolicies: [A, A, _, _, _, _, _, A],
  postalCode: [A, A, _, A, A, A, A, A],
  preferredLanguage: [A, A, _, A, A, A, A, A],
  proxyAddresses: [D, A, _, D, D, _, D, A],
  showInAddressList: [A, A, _, A, A, A, _, _],
  state: [D, A, _, D, D, D, D, A],
  streetAddress: [A, A, _, A, A, A, A, A],
  surname: [D, A, _, D, D, D, D, A],
  usageLocation: [D, A, _, D, D, D, D, _],
  userPrincipalName: [D, A, _, _, D, D, D, _],
  userType: [D, A, A, _, _, D, _, A],
};

const GROUPS: Record<string, Row> = {
  classification: [D, A, A, A, A, _, D, _],
  createdDateTime: [D, A, A, D, D, A, _, _],
  deletedDateTime: [D, A, A, D, D, A, _, _],
  description: [A, A, A, A, A, _, A, _],
  displayName: [D, A, A, A, A, D, D, A],
  expirationDateTime: [D, A, A, D, D, A, _, _],
  groupTypes: [D, _, A, _, _, _, _, _],
  id: [D, A, A, _, _, D, _, _],
  isAssignableToRole: [D, A, A, _, _, _, _, _],
  mail: [D, A, A, A, A, D, D, A],
  mailEnabled: [D, A, A, _, _, _, _, _],
  mailNickname: [D, A, A, A, A, D, D, A],
  membershipRule: [D, A, A, A, A, _, D, _],
  membershipRuleProcessingState: [D, A, A, _, _, D, _, _],
  onPremisesLastSyncDateTime: [D, A, A, D, D, A, _, _],
  onPremisesSamAccountName: [D, A, A, A, A, D, D, _],
  onPremisesSecurityIdentifier: [_, _, _, _, _, _, _, A],
  onPremisesSyncEnabled: [D, A, A, _, _, D, _, A],
  preferredLanguage: [D, A, A, A, A, D, D, A],
  proxyAddresses: [D, _, A, A, A, _, D, _],
  renewedDateTime: [D, A, A, D, D, A, _, _],
  securityEnabled: [D, A, A, _, _, D, _, _],
};

const ENDS_WITH: Record<Entity, Set<string>> = {
  user: new Set(["mail", "otherMails", "userPrincipalName", "proxyAddresses"]),
  group: new Set(["mail", "proxyAddresses"]),
};

export function filterSupport(entity: Entity, use: FilterUse): Support | undefined {
  const root = use.property.split("/")[0] as string;
  if (use.op === "endsWith") return ENDS_WITH[entity].has(root) ? A : _;
  if (use.op === "gt" || use.op === "lt") return _;
  const row = (entity === "user" ? USERS : GROUPS)[root];
  if (!row) return _;
  const at = (op: FilterOp) => row[COLUMNS.indexOf(op)];
  // "All properties that support the eq operator also support the ne or not operators" (advanced); `in` follows eq.
  if (use.op === "not" || use.op === "ne") return at(use.op) ?? (at("eq") ? A : _);
  if (use.op === "in") return at("in") ?? (at("eq") === D ? D : _);
  return at(use.op);
}

/** Throws Graph's error for the first use the property does not support, or supports only in an advanced query. */
export function checkFilter(entity: Entity, uses: FilterUse[], advancedQuery: boolean): boolean {
  let advanced = false;
  for (const use of uses) {
    const support = filterSupport(entity, use);
    if (support === A) advanced = true;
    if (support === _ || (support === A && !advancedQuery)) {
      throw badRequest(`Unsupported or invalid query filter clause specified for property '${use.property.split("/")[0]}' of resource '${entity === "user" ? "User" : "Group"}'.`, "Request_UnsupportedQuery");
    }
  }
  return advanced;
}
