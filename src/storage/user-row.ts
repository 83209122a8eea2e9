import { sql, type RawBuilder, type Selectable, type Updateable } from "kysely";
import type { User } from "../domain/user.ts";
import type { IdentifierKind, UsersTable } from "./schema.ts";
import { arrayLiteral, copyField } from "./copy-format.ts";

/**
 * How a user is stored: the one place that pairs each field of `User` kept on the users row with its column, and
 * turns rows into users and users into rows, in TypeScript and in the set-based SQL of syncs and imports. Cards and
 * aliases are rows of user_identifiers (identifierList), groups are group_members; the source, tags and timestamps
 * are the directory's own. A new user field: the domain (domain/user.ts), a migration and schema.ts, this list and
 * copyUserFields; the reads, the writes by hand, the sync's apply and the import's inserts follow the list.
 */
export const userFields = [
  { field: "userPrincipalName", column: "user_principal_name", kind: "text" },
  { field: "email", column: "email", kind: "text" },
  { field: "displayName", column: "display_name", kind: "text" },
  { field: "givenName", column: "given_name", kind: "text" },
  { field: "surname", column: "surname", kind: "text" },
  { field: "department", column: "department", kind: "text" },
  { field: "jobTitle", column: "job_title", kind: "text" },
  { field: "employeeId", column: "employee_id", kind: "text" },
  { field: "mobilePhone", column: "mobile_phone", kind: "text" },
  { field: "businessPhones", column: "business_phones", kind: "list" },
  { field: "preferredLanguage", column: "preferred_language", kind: "text" },
  { field: "enabled", column: "enabled", kind: "bool" },
  { field: "customAttributes", column: "custom_attributes", kind: "json" },
] as const satisfies readonly { field: keyof User; column: keyof UsersTable; kind: "text" | "list" | "bool" | "json" }[];

export type StoredField = (typeof userFields)[number]["field"];
export type StoredColumn = (typeof userFields)[number]["column"];
/** A user's fields kept on its row. */
export type StoredFields = Pick<User, StoredField>;
/** The columns that hold them, as a select reads them. */
export type StoredRow = Pick<Selectable<UsersTable>, StoredColumn>;

/** The stored columns, in userFields' order. */
export const userColumns: StoredColumn[] = userFields.map((f) => f.column);

/** The stored columns, comma-separated: of `alias` (a table or its alias) for a select list, bare for an insert's. */
export function userColumnList(alias?: string): RawBuilder<unknown> {
  return sql.raw(userFields.map((f) => (alias ? `${alias}.${f.column}` : f.column)).join(", "));
}

/** A user's aliases or card numbers in their order, as an array ('{}' for none); `user`: the users row's alias. */
export function identifierList(kind: IdentifierKind, user = "u"): RawBuilder<string[]> {
  return sql<string[]>`coalesce((select array_agg(i.value order by i.position) from user_identifiers i where i.user_id = ${sql.raw(user)}.id and i.kind = ${sql.lit(kind)}), '{}')`;
}

/** A row's stored fields, in userFields' order (User's). */
export function storedFieldsOf(row: StoredRow): StoredFields {
  const fields: Record<string, unknown> = {};
  for (const { field, column } of userFields) fields[field] = row[column];
  return fields as StoredFields;
}

/** What userSelect (queries/users.ts) reads of a user: its row, with its identifiers and group names. */
export type UserRow = StoredRow &
  Pick<Selectable<UsersTable>, "id" | "source_type" | "source_name" | "external_id" | "tags" | "created_at" | "updated_at"> & {
    aliases: string[];
    card_numbers: string[];
    groups: string[];
    manager: User["manager"];
  };

export function toUser(row: UserRow): User {
  const { customAttributes, ...fields } = storedFieldsOf(row);
  return {
    id: row.id,
    ...fields,
    aliases: row.aliases,
    cardNumbers: row.card_numbers,
    customAttributes,
    source: { type: row.source_type, name: row.source_name, externalId: row.external_id },
    tags: row.tags,
    groups: row.groups,
    manager: row.manager ?? null,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** A new user's row values: a field not given is null (a list empty, enabled true). `customAttributes`: as stored. */
export function newUserRow(fields: Partial<StoredFields> & Pick<StoredFields, "displayName">): Required<Pick<Updateable<UsersTable>, StoredColumn>> {
  return {
    user_principal_name: fields.userPrincipalName ?? null,
    email: fields.email ?? null,
    display_name: fields.displayName,
    given_name: fields.givenName ?? null,
    surname: fields.surname ?? null,
    department: fields.department ?? null,
    job_title: fields.jobTitle ?? null,
    employee_id: fields.employeeId ?? null,
    mobile_phone: fields.mobilePhone ?? null,
    business_phones: fields.businessPhones ?? [],
    preferred_language: fields.preferredLanguage ?? null,
    enabled: fields.enabled ?? true,
    custom_attributes: JSON.stringify(fields.customAttributes ?? {}),
  };
}

/**
 * The row values that change a user to `fields`: each field given (a text one given as undefined is cleared; the
 * display name, the phones and enabled only when they have a value). `customAttributes`: the whole new set.
 */
export function changedUserRow(fields: Partial<StoredFields>): Pick<Updateable<UsersTable>, StoredColumn> {
  return {
    ...("userPrincipalName" in fields && { user_principal_name: fields.userPrincipalName ?? null }),
    ...("email" in fields && { email: fields.email ?? null }),
    ...(fields.displayName !== undefined && { display_name: fields.displayName }),
    ...("givenName" in fields && { given_name: fields.givenName ?? null }),
    ...("surname" in fields && { surname: fields.surname ?? null }),
    ...("department" in fields && { department: fields.department ?? null }),
    ...("jobTitle" in fields && { job_title: fields.jobTitle ?? null }),
    ...("employeeId" in fields && { employee_id: fields.employeeId ?? null }),
    ...("mobilePhone" in fields && { mobile_phone: fields.mobilePhone ?? null }),
    ...(fields.businessPhones && { business_phones: fields.businessPhones }),
    ...("preferredLanguage" in fields && { preferred_language: fields.preferredLanguage ?? null }),
    ...(fields.enabled !== undefined && { enabled: fields.enabled }),
    ...(fields.customAttributes && { custom_attributes: JSON.stringify(fields.customAttributes) }),
  };
}

/**
 * Each stored column's value read from a JSON object of User fields (`json`, an SQL expression): a text field as
 * text (null when missing), a list as a text array ('{}' when missing), enabled as a boolean, custom attributes as
 * they are ('{}' when missing). For set-based SQL over planned or staged JSON (the sync's apply).
 */
export function userValuesFromJson(json: string): [StoredColumn, RawBuilder<unknown>][] {
  return userFields.map(({ field, column, kind }) => {
    const value = `${json}->'${field}'`;
    const text = `${json}->>'${field}'`;
    switch (kind) {
      case "text":
        return [column, sql.raw(text)];
      case "list":
        return [column, sql.raw(`coalesce(array(select jsonb_array_elements_text(${value})), '{}')`)];
      case "bool":
        return [column, sql.raw(`(${text})::boolean`)];
      case "json":
        return [column, sql.raw(`coalesce(${value}, '{}')`)];
    }
  });
}

/** What copyUserFields encodes: a text field missing is null, the phones missing none, enabled missing true. */
export type CopiedFields = { [K in Exclude<StoredField, "businessPhones" | "enabled" | "customAttributes">]?: User[K] | undefined } & {
  businessPhones?: string[] | undefined;
  enabled?: boolean | undefined;
};

/**
 * A user's stored fields as fields of a COPY text line, tab-separated, for the columns `userColumns` names (in that
 * order), `customAttributes` being the JSON to store. Spelt out rather than looped over userFields: a streamed first
 * sync and a first import encode 100,000 users this way (test/storage/user-row.test.ts checks it against the list).
 */
export function copyUserFields(f: CopiedFields, customAttributes: string): string {
  const phones = f.businessPhones?.length ? arrayLiteral(f.businessPhones) : "{}";
  return (
    `${copyField(f.userPrincipalName)}\t${copyField(f.email)}\t${copyField(f.displayName)}\t${copyField(f.givenName)}\t${copyField(f.surname)}\t` +
    `${copyField(f.department)}\t${copyField(f.jobTitle)}\t${copyField(f.employeeId)}\t${copyField(f.mobilePhone)}\t${copyField(phones)}\t` +
    `${copyField(f.preferredLanguage)}\t${f.enabled ?? true}\t${copyField(customAttributes)}`
  );
}
