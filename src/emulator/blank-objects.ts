// New directory objects as Entra creates them: every property Graph serves, at its default until set.
import { randomUUID } from "node:crypto";
import type { GraphContact, GraphDevice, GraphGroup, GraphUser } from "./directory-types.ts";

/** Now, to the second, as Graph writes times ("2024-05-01T09:30:00Z"). */
export const graphNow = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

export function emptyExtensionAttributes(): GraphUser["onPremisesExtensionAttributes"] {
  // A literal (not a loop) so every instance shares one hidden class: cheap to build and to serialise.
  return {
    extensionAttribute1: null, extensionAttribute2: null, extensionAttribute3: null, extensionAttribute4: null,
    extensionAttribute5: null, extensionAttribute6: null, extensionAttribute7: null, extensionAttribute8: null,
    extensionAttribute9: null, extensionAttribute10: null, extensionAttribute11: null, extensionAttribute12: null,
    extensionAttribute13: null, extensionAttribute14: null, extensionAttribute15: null,
  };
}

export function blankUser(id: string, upn: string, createdDateTime = graphNow()): GraphUser {
  return {
    id, userPrincipalName: upn, displayName: null, givenName: null, surname: null, mail: null, mailNickname: null,
    otherMails: [], proxyAddresses: [], mobilePhone: null, businessPhones: [], jobTitle: null, officeLocation: null,
    preferredLanguage: null, accountEnabled: true, department: null, companyName: null, employeeId: null,
    employeeType: null, userType: "Member", externalUserState: null, creationType: null, usageLocation: null,
    city: null, country: null, streetAddress: null, postalCode: null, state: null,
    createdDateTime, onPremisesSamAccountName: null,
    onPremisesImmutableId: null, onPremisesSyncEnabled: null, onPremisesExtensionAttributes: emptyExtensionAttributes(),
  };
}

export function blankGroup(id: string, name: string): GraphGroup {
  return {
    id, displayName: name, description: null, mail: null, mailEnabled: false,
    mailNickname: name.replace(/[^A-Za-z0-9]/g, "").slice(0, 60) || "group", securityEnabled: true, groupTypes: [],
    membershipRule: null, membershipRuleProcessingState: null, visibility: null,
    createdDateTime: graphNow(), onPremisesSamAccountName: null, onPremisesSyncEnabled: null,
  };
}

/** A device as group member lists show it; `input` overrides the defaults. */
export function blankDevice(input: Partial<GraphDevice> = {}): GraphDevice {
  const id = input.id ?? randomUUID();
  return { accountEnabled: true, deviceId: randomUUID(), displayName: `DESKTOP-${id.slice(0, 7).toUpperCase()}`, operatingSystem: "Windows", operatingSystemVersion: "10.0.22631.4037", ...input, id };
}

/** An organizational contact with the properties Graph returns by default; `input` overrides them. */
export function blankContact(input: Partial<GraphContact> = {}): GraphContact {
  const id = input.id ?? randomUUID();
  const displayName = input.displayName ?? `Contact ${id.slice(0, 8)}`;
  const mail = input.mail === undefined ? `${displayName.replace(/[^A-Za-z0-9]/g, "").toLowerCase() || "contact"}@example.com` : input.mail;
  return {
    displayName, givenName: null, surname: null, mail, mailNickname: mail?.split("@")[0] ?? null, companyName: null, department: null,
    jobTitle: null, proxyAddresses: mail ? [`SMTP:${mail}`] : [], imAddresses: [],
    addresses: [{ city: null, countryOrRegion: null, officeLocation: null, postalCode: null, state: null, street: null }],
    phones: [{ number: null, type: "businessFax" }, { number: null, type: "mobile" }, { number: null, type: "business" }],
    onPremisesSyncEnabled: null, onPremisesLastSyncDateTime: null, onPremisesProvisioningErrors: [], deletedDateTime: null,
    ...input, id,
  };
}
