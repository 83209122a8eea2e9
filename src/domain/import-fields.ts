/** The user fields an import's columns can fill, in the order a column picker lists them. */
export const importFields = [
  "userPrincipalName", "email", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId",
  "mobilePhone", "businessPhones", "preferredLanguage", "enabled", "blockSignIn", "aliases", "cardNumbers", "pin", "groups", "tags", "manager", "rollcallId",
] as const;
export type ImportField = (typeof importFields)[number] | `customAttributes.${string}`;

/** `text` without its accents: "Téléphone" → "Telephone". */
export const withoutAccents = (text: string) => text.normalize("NFKD").replace(/\p{M}/gu, "");

/** The custom attribute a column named `header` fills when no field fits: "Cost centre" → customAttributes.costCentre. */
export function customAttributeField(header: string): ImportField | null {
  const words = withoutAccents(header).match(/[A-Za-z0-9]+/g) ?? [];
  const name = words.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1))).join("").slice(0, 64);
  return name ? `customAttributes.${name}` : null;
}
