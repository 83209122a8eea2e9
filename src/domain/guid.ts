/** A GUID (UUID) in its 8-4-4-4-12 hex form, any case: Entra object and tenant IDs, and Rollcall's own ids. */
export const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isGuid = (value: string): boolean => guidPattern.test(value);
