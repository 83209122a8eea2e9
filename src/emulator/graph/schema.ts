// Entity properties, Microsoft's default property sets, and $select projection.
import type { GraphGroup, GraphUser, OtherMemberKind } from "../directory-types.ts";

export const USER_DEFAULT = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
  "preferredLanguage", "surname", "userPrincipalName", "id"];
export const USER_PROPS = new Set([...USER_DEFAULT, "accountEnabled", "department", "companyName", "employeeId", "employeeType",
  "userType", "externalUserState", "creationType", "usageLocation", "city", "country", "streetAddress", "postalCode", "state",
  "createdDateTime", "onPremisesSamAccountName", "onPremisesImmutableId", "onPremisesSyncEnabled", "onPremisesExtensionAttributes",
  "mailNickname", "otherMails", "proxyAddresses", "deletedDateTime", "ageGroup", "employeeHireDate", "faxNumber", "identities",
  "lastPasswordChangeDateTime", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesLastSyncDateTime",
  "onPremisesUserPrincipalName", "passwordPolicies", "showInAddressList", "signInSessionsValidFromDateTime", "imAddresses",
  "externalUserStateChangeDateTime", "legalAgeGroupClassification", "consentProvidedForMinor", "preferredDataLocation",
  "securityIdentifier", "manager", "signInActivity"]);

/**
 * User properties a listing serves (with a permission of their own: USER_PROP_PERMISSIONS) that the users delta query
 * refuses: 400 "… not supported for the following properties: signInActivity" (microsoft-graph-explorer-v4#3189).
 */
export const USER_NOT_IN_DELTA = new Set(["signInActivity"]);
/** Selecting these on a listing needs this application permission besides a user one, else 403 Authorization_RequestDenied. */
export const USER_PROP_PERMISSIONS: Record<string, string> = { signInActivity: "AuditLog.Read.All" };

/**
 * User properties Graph serves only when reading one user (most of them SharePoint profile data): a listing that
 * selects one answers 501 NotImplemented, a delta query 400. https://learn.microsoft.com/graph/api/user-list#optional-query-parameters
 */
export const USER_ONE_ONLY = new Set(["aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects", "preferredName",
  "responsibilities", "schools", "skills", "mailboxSettings"]);

export const GROUP_DEFAULT = ["id", "deletedDateTime", "classification", "createdDateTime", "creationOptions", "description",
  "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "mailNickname",
  "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName", "onPremisesLastSyncDateTime",
  "onPremisesNetBiosName", "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled",
  "preferredDataLocation", "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
  "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme", "visibility", "onPremisesProvisioningErrors",
  "serviceProvisioningErrors"];
export const GROUP_PROPS = new Set([...GROUP_DEFAULT, "members"]);

/** Multi-valued properties: [] when unset, and filtered only through `any`. */
export const COLLECTIONS = new Set(["interests", "pastProjects", "responsibilities", "schools", "skills", "businessPhones", "otherMails", "proxyAddresses", "identities", "imAddresses", "groupTypes",
  "creationOptions", "resourceBehaviorOptions", "resourceProvisioningOptions", "onPremisesProvisioningErrors", "serviceProvisioningErrors"]);

/**
 * Build a projector: object → plain object with exactly the selected properties (null when unset). A directory
 * extension is a dynamic property of an open type: left out while it holds no value, unless `unsetExtensions` is
 * "null" (delta, which then drops the ones never set, as it does every property).
 */
export function projector(props: string[], unsetExtensions: "omit" | "null" = "omit"): (o: GraphUser | GraphGroup | Record<string, unknown>) => Record<string, unknown> {
  const list = props.filter((p) => p !== "members" && p !== "manager" && !isExtension(p));
  const extensions = props.filter(isExtension);
  return (o) => {
    const out: Record<string, unknown> = {};
    for (const p of list) {
      const v = (o as Record<string, unknown>)[p];
      out[p] = v === undefined ? (COLLECTIONS.has(p) ? [] : null) : v;
    }
    for (const p of extensions) {
      const v = (o as Record<string, unknown>)[p] ?? null;
      if (v !== null || unsetExtensions === "null") out[p] = v;
    }
    return out;
  };
}

const isExtension = (p: string): boolean => p.startsWith("extension_");

/**
 * The other directory objects a group can hold, with the properties the emulator serves for each (all of them without
 * $select): a few of Graph's for devices and service principals, and those Graph returns by default for an orgContact
 * (https://learn.microsoft.com/graph/api/orgcontact-get).
 */
const OTHER_PROPS: Record<OtherMemberKind, string[]> = {
  device: ["id", "accountEnabled", "deviceId", "displayName", "operatingSystem", "operatingSystemVersion"],
  orgContact: ["id", "deletedDateTime", "companyName", "department", "displayName", "proxyAddresses", "givenName", "imAddresses",
    "jobTitle", "mail", "mailNickname", "onPremisesLastSyncDateTime", "onPremisesSyncEnabled", "surname", "addresses",
    "onPremisesProvisioningErrors", "phones"],
  servicePrincipal: ["id", "accountEnabled", "appDisplayName", "appId", "appOwnerOrganizationId", "displayName",
    "servicePrincipalNames", "servicePrincipalType", "signInAudience", "tags"],
};

/** Projectors for the other member kinds: of a `$select`, the properties each kind has (id always); all without one. */
export function otherProjectors(select: string[] | undefined): Record<OtherMemberKind, (o: Record<string, unknown>) => Record<string, unknown>> {
  const one = (kind: OtherMemberKind) => projector(select ? ["id", ...OTHER_PROPS[kind].filter((p) => p !== "id" && select.includes(p))] : OTHER_PROPS[kind]);
  return { device: one("device"), orgContact: one("orgContact"), servicePrincipal: one("servicePrincipal") };
}

export type Entity = "user" | "group";

export function propsOf(entity: Entity): Set<string> {
  return entity === "user" ? USER_PROPS : GROUP_PROPS;
}
export function defaultsOf(entity: Entity): string[] {
  return entity === "user" ? USER_DEFAULT : GROUP_DEFAULT;
}
