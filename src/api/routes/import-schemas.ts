import { z } from "zod";
import type { ImportProgress, ImportReport } from "../../core/imports.ts";
import { timestamp } from "../schemas.ts";
import { importSteps, type ImportCounts, type ImportStep } from "../../domain/run-counts.ts";
import type { UploadOptions } from "../../core/upload-options.ts";
import { encodingProblem } from "../../sources/import/encoding.ts";
import { csvDelimiters } from "../../sources/import/csv.ts";

/** The import report as the API answers it (the same object `rollcall import --json` prints). */
const problemSchema = z.object({
  row: z.number().int().describe("row number as a spreadsheet shows it (the header is usually row 1)"),
  column: z.string().nullable().describe("the column header, when the problem belongs to one"),
  field: z.string(),
  value: z.string().optional(),
  message: z.string(),
});

const columnWarningSchema = z.object({
  column: z.string().describe("the column header"),
  letter: z.string().describe("the column's letter (two columns may share a heading)"),
  field: z.string(),
  rows: z.number().int().describe("how many rows it is true of"),
  firstRows: z.array(z.number().int()).describe("the first of those rows (up to 10)"),
  message: z.string(),
});

const importCountsSchema = z.object({
  rows: z.number().int(),
  invalid: z.number().int(),
  problems: z.number().int(),
  warnings: z.number().int().describe("row warnings (listed in warnings up to the limit) plus one per columnWarnings entry"),
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  skipped: z.number().int(),
  synced: z.number().int().describe("rows of users synced from Entra ID: skipped, each with a warning (a sync owns them)"),
  groupsCreated: z.number().int(),
}) satisfies z.ZodType<ImportCounts>;

export const importReportSchema = z
  .object({
    file: z.object({
      name: z.string(),
      format: z.enum(["csv", "xlsx"]),
      encoding: z.string().optional(),
      delimiter: z.enum(csvDelimiters).optional().describe("a CSV file's, detected (or named by Excel's sep= line): comma, semicolon, tab or vertical bar"),
      sheet: z.string().optional(),
      sheets: z.array(z.string()).optional(),
      layout: z.enum(["entra", "rollcall", "generic"]).describe("entra = Entra ID's bulk-create template; rollcall = our template or export"),
    }),
    source: z.string().describe("source name the users carry; re-importing under the same name updates them"),
    dryRun: z.boolean(),
    partial: z.boolean(),
    updateExisting: z.boolean(),
    applied: z.boolean().describe("the changes were written; false for a dry run, when problems stopped an all-or-nothing import, or when a partial import found no valid row"),
    columns: z.object({
      mapped: z.array(z.object({ column: z.string(), field: z.string() })),
      unknown: z.array(z.string()),
      ignored: z.array(z.object({ column: z.string(), reason: z.string() })),
      inFile: z
        .array(z.object({ column: z.string(), letter: z.string(), field: z.string().nullable() }))
        .describe('every headed column in file order; a mapping names one of two columns with the same heading by its letter ("column C")'),
    }),
    counts: importCountsSchema,
    created: z.array(z.object({ row: z.number().int(), email: z.string().nullable(), userPrincipalName: z.string().nullable(), displayName: z.string() })),
    updated: z.array(
      z.object({
        row: z.number().int(),
        id: z.string(),
        email: z.string().nullable(),
        displayName: z.string(),
        changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })),
      }),
    ),
    unchanged: z.array(z.object({ row: z.number().int(), id: z.string(), email: z.string().nullable(), displayName: z.string() })),
    groupsCreated: z.array(z.string()),
    problems: z.array(problemSchema),
    warnings: z.array(problemSchema).describe("rows imported with a value that lost something, at the cell: a phone number's extension, which E.164 cannot hold; a card number or employee ID a user keeps with its leading zeros (from a CSV or a text cell; an .xlsx number cell's is in its column's warning); a phone number an .xlsx cell held as a number, valid with and without a leading 0, saying which reading was taken; a user synced from Entra ID, skipped"),
    columnWarnings: z
      .array(columnWarningSchema)
      .describe("warnings about a whole column, one each instead of one per row, never cut short: an .xlsx column of PINs, card numbers, employee IDs or phone numbers holding numbers, whose leading zeros (a phone's 0 or +) Excel drops; it counts the rows whose user keeps the value with its zeros"),
    truncated: z.boolean().describe("lists stop at 1000 entries each; counts are always exact"),
    timings: z
      .object(Object.fromEntries(importSteps.map((step) => [step, z.number().optional()])) as Record<ImportStep, z.ZodOptional<z.ZodNumber>>)
      .describe("milliseconds: read (until the last row is read), check, pins, plan and apply (each summed over the batches, which overlap the reading), total; a step the import did not reach is left out"),
  })
  .meta({ id: "ImportReport" }) satisfies z.ZodType<ImportReport>;

export const uploadSchema = z
  .object({
    id: z.string(),
    fileName: z.string(),
    size: z.number().int(),
    uploadedAt: timestamp,
    expiresAt: timestamp,
    preview: importReportSchema,
  })
  .meta({ id: "ImportUpload" });

const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);

const mappingObject = z.record(z.string(), z.string().nullable());
const mappingOption = z.union([
  mappingObject,
  z
    .string()
    .max(65_536)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON object of column header → field" });
        return z.NEVER;
      }
    })
    .pipe(mappingObject),
]);

/** A blank value stands for the default: a client can go back to it over a value an earlier preview gave. */
const blankIsDefault = (text: string) => (text.trim() ? text : undefined);

/** Options that change what an import does; the same for preview (query) and commit (body). */
export const importOptionsSchema = z
  .object({
    sheet: z.string().max(256).transform(blankIsDefault).optional().describe("worksheet name (default, or blank: the first visible sheet)"),
    source: z.string().max(256).transform(blankIsDefault).optional().describe("source name (default, or blank: the file name)"),
    encoding: z
      .string()
      .max(64)
      .transform((text, ctx) => {
        const name = blankIsDefault(text);
        const problem = name === undefined ? undefined : encodingProblem(name);
        if (problem) {
          ctx.addIssue({ code: "custom", message: problem });
          return z.NEVER;
        }
        return name?.trim().toLowerCase();
      })
      .optional()
      .describe("a CSV file's text encoding, any iconv-lite knows: windows-1257, iso-8859-2, cp850, shift_jis, gb18030… (default, or blank: detected; not for .xlsx)"),
    partial: flag.default(false).describe("apply the valid rows and report the others"),
    updateExisting: flag.default(false).describe("take over users added by hand or by another import with the same email"),
    mapping: mappingOption.optional().describe('column header → field, e.g. {"Badge": "cardNumbers"}; null skips the column; {} for none. In a query or a form field: that object as JSON'),
  })
  .strict() satisfies z.ZodType<UploadOptions, unknown>;

export const importProgressSchema = z
  .object({
    committing: z.boolean().describe("a commit of this upload is running"),
    progress: z
      .object({
        phase: z.enum(["reading", "checking", "hashing", "planning", "applying"]),
        step: z.string().optional().describe("the step under way in checking, planning or applying"),
        rows: z.number().int().describe("rows read from the file so far"),
        done: z.number().describe("in the phase's units: bytes read, PINs, or steps"),
        total: z.number(),
      })
      .nullable()
      .describe("null before the commit's first report, or when none is running") satisfies z.ZodType<ImportProgress | null>,
    imported: z
      .object({ at: timestamp, by: z.string(), counts: importCountsSchema })
      .optional()
      .describe("the commit that imported this file: a commit sent again answers 409 conflict, until the upload expires"),
  })
  .meta({ id: "ImportProgress" });
