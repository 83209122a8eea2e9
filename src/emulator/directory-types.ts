// Directory objects as the emulator stores and Graph serves them: users, groups, and the other kinds groups hold.
// Public: other packages import these through ./index.ts.

/** Graph `user` as the emulator stores it: every property it can serve (unset = null). */
export type GraphUser = GraphUserCore & { [key: string]: unknown };
export interface GraphUserCore {
  id: string;
  userPrincipalName: string;
  displayName: string | null;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  mailNickname: string | null;
  otherMails: string[];
  proxyAddresses: string[];
  mobilePhone: string | null;
  businessPhones: string[];
  jobTitle: string | null;
  officeLocation: string | null;
  preferredLanguage: string | null;
  accountEnabled: boolean;
  department: string | null;
  companyName: string | null;
  employeeId: string | null;
  employeeType: string | null;
  userType: "Member" | "Guest";
  externalUserState: string | null;
  creationType: string | null;
  usageLocation: string | null;
  city: string | null;
  country: string | null;
  streetAddress: string | null;
  postalCode: string | null;
  state: string | null;
  createdDateTime: string;
  onPremisesSamAccountName: string | null;
  onPremisesImmutableId: string | null;
  onPremisesSyncEnabled: boolean | null;
  onPremisesExtensionAttributes: Record<`extensionAttribute${number}`, string | null>;
}

export type GraphGroup = GraphGroupCore & { [key: string]: unknown };
export interface GraphGroupCore {
  id: string;
  displayName: string;
  description: string | null;
  mail: string | null;
  mailEnabled: boolean;
  mailNickname: string;
  securityEnabled: boolean;
  groupTypes: string[];
  membershipRule: string | null;
  membershipRuleProcessingState: string | null;
  visibility: string | null;
  createdDateTime: string;
  onPremisesSamAccountName: string | null;
  onPremisesSyncEnabled: boolean | null;
}

export type UserInput = Partial<Omit<GraphUserCore, "onPremisesExtensionAttributes">> & {
  onPremisesExtensionAttributes?: Partial<Record<string, string | null>>;
} & { [key: string]: unknown };
export type GroupInput = Partial<GraphGroupCore> & { [key: string]: unknown };

/**
 * Groups hold users and groups, and other directory objects too (Rollcall syncs none of them): devices,
 * organizational contacts and service principals. Each kind is its OData type's name (`#microsoft.graph.{kind}`).
 */
export type MemberKind = "user" | "group" | OtherMemberKind;
export type OtherMemberKind = "device" | "orgContact" | "servicePrincipal";
/** A device as group member lists show it (a few of Graph's device properties). */
export interface GraphDevice {
  id: string;
  accountEnabled: boolean;
  deviceId: string;
  displayName: string;
  operatingSystem: string | null;
  operatingSystemVersion: string | null;
}
/** An organizational contact (orgContact), with the properties Graph returns for one by default. */
export interface GraphContact {
  id: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  mailNickname: string | null;
  companyName: string | null;
  department: string | null;
  jobTitle: string | null;
  proxyAddresses: string[];
  imAddresses: string[];
  addresses: Record<string, string | null>[];
  phones: { number: string | null; type: string }[];
  onPremisesSyncEnabled: boolean | null;
  onPremisesLastSyncDateTime: string | null;
  onPremisesProvisioningErrors: unknown[];
  deletedDateTime: string | null;
}
export interface MemberRef {
  id: string;
  kind: MemberKind;
}
