import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { RollcallError, invalidInput } from "../../errors.ts";
import { runImport, type ImportProgress, type ImportReport } from "../../core/imports.ts";
import { exportUsers, writeTemplate, type ExportFormat } from "../../core/exports.ts";
import { bodyProblems, type WorkspaceContext } from "../../core/context.ts";
import type { Runtime } from "../../runtime.ts";
import { parseMappingFile } from "../../sources/import/mapping.ts";
import { assertNotImported, deleteUpload, discardUpload, findUpload, rememberUploadOptions, saveUpload, withUploadFile, type Upload } from "../../sources/import/uploads.ts";
import { withTempFile } from "../../sources/import/temp-file.ts";
import { beingCommitted, commitImport, commitState, localCommit, previewNewUpload, reclaimUploads } from "../../core/upload-commits.ts";
import { commitOptions } from "../../core/upload-options.ts";
import { route, type RouteModule } from "../route.ts";
import { spreadsheetDownload, userFilterQuery, workspaceParams } from "../schemas.ts";
import { importOptionsSchema, importProgressSchema, importReportSchema, uploadSchema } from "./import-schemas.ts";

const uploadParams = workspaceParams.extend({ id: z.string().describe("upload id from POST …/imports") });
type ImportOptionsInput = z.output<typeof importOptionsSchema>;

function importFrom(rt: Runtime, ctx: WorkspaceContext, upload: Upload, options: ImportOptionsInput, dryRun: boolean, onProgress?: (p: ImportProgress) => void, signal?: AbortSignal): Promise<ImportReport> {
  return withUploadFile(rt.store.db, upload, (path) =>
    runImport(ctx, rt.store, {
      path,
      fileName: upload.fileName,
      uploadId: upload.id,
      sourceName: options.source,
      sheet: options.sheet,
      encoding: options.encoding,
      mapping: options.mapping ? parseMappingFile(options.mapping) : undefined,
      dryRun,
      partial: options.partial,
      updateExisting: options.updateExisting,
      onProgress,
      signal,
    }),
  );
}

/**
 * Files cannot go through the JSON response path, so downloads write the raw response themselves
 * (with the same security headers the server adds to API answers).
 */
async function sendFile(reply: FastifyReply, path: string, fileName: string, format: ExportFormat, headers: Record<string, string> = {}): Promise<void> {
  reply.hijack();
  reply.raw.writeHead(200, {
    ...headers,
    "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "content-disposition": `attachment; filename="${fileName}"`,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  await pipeline(createReadStream(path), reply.raw);
}

const formatQuery = z.object({ format: z.enum(["csv", "xlsx"]).default("csv") }).strict();

/** The options a preview or commit gives, over those of the upload's latest preview (a mapping sent once keeps applying). */
function withUploadOptions(upload: Upload, given: unknown): ImportOptionsInput {
  return importOptionsSchema.parse({ ...upload.options, ...(given && typeof given === "object" ? given : {}) });
}

/**
 * A preview of the upload, whose options it remembers once it answered a report: a commit without options applies
 * what the admin was last shown. A preview refused (a mapping naming a field that does not exist, a column not placed)
 * showed nothing to commit.
 */
async function previewUpload(rt: Runtime, ctx: WorkspaceContext, upload: Upload, given: unknown): Promise<ImportReport> {
  const options = withUploadOptions(upload, given);
  const report = await importFrom(rt, ctx, upload, options, true);
  await rememberUploadOptions(rt.store.db, upload, options);
  return report;
}

/** The file part and the form fields, in whatever order they come (the fields after the file count too). */
async function receiveUpload(rt: Runtime, ctx: WorkspaceContext, request: FastifyRequest): Promise<{ upload: Upload; options: ImportOptionsInput }> {
  if (!request.isMultipart()) {
    throw new RollcallError("unsupported_file", "Upload the file as multipart/form-data with a part named \"file\"", { expected: "multipart/form-data" });
  }
  const fields: Record<string, unknown> = {};
  let upload: Upload | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === "field") {
        if (part.fieldname !== "file") fields[part.fieldname] = part.value;
        continue;
      }
      if (upload) throw invalidInput([{ field: part.fieldname, message: "only one file can be uploaded at a time" }]);
      if (part.fieldname !== "file") throw invalidInput([{ field: part.fieldname, message: 'is not where the file goes: send it in the multipart part named "file"' }]);
      upload = await saveUpload(rt.store.db, { workspaceId: ctx.workspace.id, fileName: part.filename, stream: part.file, limitBytes: rt.config.uploadLimitBytes, uploadedBy: ctx.actor });
    }
    if (!upload) throw invalidInput([{ field: "file", message: "is required: a CSV or .xlsx file" }]);
    const options = importOptionsSchema.safeParse({ ...(request.query as object), ...fields });
    if (!options.success) throw invalidInput(bodyProblems(options.error));
    // The upload's answer is its first preview: a commit without options applies these.
    return { upload: await rememberUploadOptions(rt.store.db, upload, options.data), options: options.data };
  } catch (error) {
    if (upload) await deleteUpload(rt.store.db, ctx.workspace.id, upload.id).then(() => reclaimUploads(rt.store), () => {});
    throw error;
  }
}

export const importRoutes: RouteModule = {
  tag: "Imports",
  description:
    "Import users from CSV or Excel in three steps: upload (answers a dry-run preview), preview again with other options, commit. " +
    "A commit is all or nothing unless `partial` is set. Exports and the template have the columns an import reads back unchanged. " +
    "An export's last column, rollcallId, matches each row to its user: edited and imported back, the row updates that user where it is (its source kept; of a user synced from Entra ID, all but the fields the sync owns, with a warning per row that changed one of those).",
  routes: [
    route({
      method: "POST",
      url: "/workspaces/:workspace/imports",
      summary: "Upload a CSV or .xlsx file (multipart part \"file\"); answers a dry-run preview and the upload id",
      description:
        "Optional form fields (before or after the file) or query parameters: sheet, encoding, source, partial, updateExisting, mapping (JSON); they are the options of the upload's first preview, which a later preview starts from and a commit without options applies. The upload is kept for 24 hours. Size limit: ROLLCALL_UPLOAD_LIMIT_MB. " +
        "When required columns cannot be placed, the answer is 422 import_invalid with details.reason = columns, the file's headers, and details.upload: the file is kept, to preview again with a mapping.",
      access: "workspace",
      status: 201,
      params: workspaceParams,
      upload: { field: "file", description: "the CSV or .xlsx file; the options may come as form fields beside it", fields: importOptionsSchema },
      errors: { 422: "import_invalid: the file cannot be read as a table of users (empty, no heading row, required columns not placed: details.reason)" },
      response: uploadSchema,
      config: (rt) => ({ bodyLimit: rt.config.uploadLimitBytes + 1024 * 1024 }),
      async handler({ rt, ctx, request }) {
        const { upload, options } = await receiveUpload(rt, ctx, request);
        return previewNewUpload(rt.store, upload, () => importFrom(rt, ctx, upload, options, true));
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/imports/template",
      summary: "Download the empty import template (CSV or XLSX)",
      access: "workspace",
      answers: spreadsheetDownload,
      params: workspaceParams,
      query: formatQuery,
      async handler({ query, reply }) {
        await withTempFile("rollcall-export-", async (path) => {
          await writeTemplate(query.format, path);
          await sendFile(reply, path, `rollcall-template.${query.format}`, query.format);
        });
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/imports/:id",
      summary: "Preview an uploaded file again (dry run), e.g. with another sheet, encoding, source, mapping or updateExisting",
      description: "Options not given are the latest preview's. The upload remembers this preview's options: a commit without options applies them.",
      access: "workspace",
      params: uploadParams,
      query: importOptionsSchema,
      errors: { 409: "conflict: the upload was imported already (when, by whom, with what counts)", 422: "import_invalid: the file cannot be read with these options (details.reason; columns not placed: add a mapping)" },
      response: importReportSchema,
      async handler({ rt, ctx, params, request }) {
        const upload = await findUpload(rt.store.db, ctx.workspace.id, params.id);
        assertNotImported(upload);
        return previewUpload(rt, ctx, upload, request.query);
      },
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/imports/:id/commit",
      summary: "Apply an uploaded file; 422 import_invalid (with the report) when problems stop an all-or-nothing import, or a partial one finds no valid row; 409 conflict once it was imported (details.imported says when, by whom, the counts)",
      description:
        "Applies the options of the upload's latest preview (the upload's answer, or GET …/imports/{id}): what the admin was last shown. " +
        "Options given here must be those (repeating them is fine); any that differ answer 409 import_preview_changed naming them (details.differing, previewed, given), and nothing is imported: preview with them first.",
      access: "workspace",
      params: uploadParams,
      body: importOptionsSchema.default({ partial: false, updateExisting: false }),
      errors: {
        409: "import_preview_changed: options differ from the latest preview's (preview again); conflict: imported already, or being imported",
        422: "import_invalid (details.report): problems stopped an all-or-nothing import, or a partial one found no valid row",
        503: "server_stopping: the server stopped while importing; nothing was imported, commit again",
      },
      response: importReportSchema,
      async handler({ rt, ctx, params, request }) {
        const upload = await findUpload(rt.store.db, ctx.workspace.id, params.id);
        assertNotImported(upload);
        const body = commitOptions(withUploadOptions(upload, {}), withUploadOptions(upload, request.body));
        const report = await commitImport(rt.store.db, upload, ctx.actor, (onProgress, signal) => importFrom(rt, ctx, upload, body, false, onProgress, signal));
        await reclaimUploads(rt.store);
        return report;
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/imports/:id/progress",
      summary: "Where a commit of this upload is while it runs (poll it beside the commit request)",
      description: "Once a commit imported the file, `imported` says when, by whom and its counts, until the upload expires (a day after it was sent).",
      access: "workspace",
      params: uploadParams,
      response: importProgressSchema,
      async handler({ rt, ctx, params }) {
        // This process's own commit is answered from memory: the embedded database is busy with its transaction.
        return localCommit(ctx.workspace.id, params.id) ?? commitState(await findUpload(rt.store.db, ctx.workspace.id, params.id));
      },
    }),
    route({
      method: "DELETE",
      url: "/workspaces/:workspace/imports/:id",
      summary: "Discard an uploaded file without importing it",
      access: "workspace",
      status: 204,
      params: uploadParams,
      async handler({ rt, ctx, params }) {
        // Found in this workspace first: another workspace's upload being committed is not there, not a conflict.
        const upload = await findUpload(rt.store.db, ctx.workspace.id, params.id);
        // A commit in any process, this one's included, holds the upload's lease in the database.
        if (!(await discardUpload(rt.store.db, upload))) throw beingCommitted("This upload is being imported; it cannot be discarded now", upload);
        await reclaimUploads(rt.store);
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/exports",
      summary: "Download the workspace's users as CSV or XLSX (re-importable unchanged), all or those the filters match",
      description: "The columns are the import's, the custom attributes the users hold, and last rollcallId (the user's id, which an import matches the row by). The Rollcall-Users header gives the number of users exported; Rollcall-Columns the columns, comma-separated, each URI-encoded.",
      access: "workspace",
      answers: {
        "200": {
          ...spreadsheetDownload["200"],
          headers: { ...spreadsheetDownload["200"].headers, "Rollcall-Users": "how many users the file holds", "Rollcall-Columns": "the file's columns, comma-separated, each URI-encoded" },
        },
      },
      params: workspaceParams,
      query: formatQuery.extend(userFilterQuery.shape).strict(),
      async handler({ ctx, query, reply }) {
        const { format, ...filter } = query;
        await withTempFile("rollcall-export-", async (path) => {
          const result = await exportUsers(ctx, { format, out: path, filter });
          // What `rollcall export` reports, without reading the file back (each column name URI-encoded).
          await sendFile(reply, path, `${ctx.workspace.name}-users.${query.format}`, query.format, {
            "rollcall-users": String(result.users),
            "rollcall-columns": result.columns.map(encodeURIComponent).join(","),
          });
        });
      },
    }),
  ],
};
