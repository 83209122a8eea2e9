import { z } from "zod";
import type { FastifyRequest } from "fastify";
import { RollcallError } from "../../errors.ts";
import { photoMaxBytes, removeUserPhoto, setUserPhoto, userPhoto } from "../../core/user-photos.ts";
import { getUser } from "../../core/users.ts";
import { route, type Route } from "../route.ts";
import { workspaceParams } from "../schemas.ts";

const userParams = workspaceParams.extend({ id: z.string().describe("user id, email or user principal name") });

/** The one file part of a multipart request, as bytes. */
async function receivePhoto(request: FastifyRequest): Promise<Buffer> {
  if (!request.isMultipart()) {
    throw new RollcallError("unsupported_media_type", 'Upload the photo as multipart/form-data with a part named "photo" (a JPEG or PNG image)', { expected: "multipart/form-data" });
  }
  const part = await request.file();
  if (!part) throw new RollcallError("invalid_input", 'The request has no file: send the photo as the part named "photo"');
  if (part.fieldname !== "photo") throw new RollcallError("invalid_input", `The file part is named "${part.fieldname}": name it "photo"`);
  return part.toBuffer();
}

export const userPhotoRoutes: Route[] = [
  route({
    method: "GET",
    url: "/workspaces/:workspace/users/:id/photo",
    summary: "A user's photo: the image itself (JPEG or PNG), synced from Entra ID or uploaded",
    description: "Answers the image with an ETag and Cache-Control: private, no-cache (a browser keeps it and asks again with If-None-Match); a request whose If-None-Match holds it answers 304 without the image. 404 not_found (details.resource: photo) when the user has none.",
    access: "workspace",
    params: userParams,
    answers: {
      "200": { description: "The photo", content: ["image/jpeg", "image/png"], headers: { ETag: "the photo's version, for If-None-Match" } },
      "304": { description: "Not modified: If-None-Match named the photo's current ETag", headers: { ETag: "the photo's version" } },
    },
    async handler({ ctx, params, request, reply }) {
      const photo = await userPhoto(ctx, params.id);
      // The browser keeps it (never a shared cache) and asks again with If-None-Match each time: a list's avatars cost a 304.
      reply.header("etag", photo.etag).header("cache-control", "private, no-cache");
      const asked = request.headers["if-none-match"];
      if (asked && asked.split(",").map((t) => t.trim().replace(/^W\//, "")).includes(photo.etag)) {
        await reply.status(304).send();
        return;
      }
      await reply.status(200).type(photo.contentType).send(photo.bytes);
    },
  }),
  route({
    method: "PUT",
    url: "/workspaces/:workspace/users/:id/photo",
    summary: "Upload a user's photo (JPEG or PNG, at most 256 KiB): a user of an Entra ID source that syncs photos has theirs from there",
    description:
      "The image is the multipart part named photo; its type is read from its content. Recorded in the user's history (never the image). " +
      "409 conflict for a user of an Entra ID source that syncs photos (its photos option on; the user's photoSource), whose photo comes from Entra ID. " +
      "A user of one that does not may have one set by hand: turned on later, the source's next run replaces it with Entra ID's (or removes it when Entra ID has none).",
    access: "workspace",
    params: userParams,
    upload: { field: "photo", description: "the image: JPEG or PNG, at most 256 KiB" },
    errors: { 409: "conflict: the user's photo comes from their Entra ID source, which syncs photos (details.source, details.option: photos)", 413: `payload_too_large: the photo is over ${photoMaxBytes / 1024} KiB` },
    response: z.object({
      userId: z.string(),
      contentType: z.enum(["image/jpeg", "image/png"]),
      bytes: z.number().int(),
      changed: z.boolean().describe("false: the user had this very image already"),
    }),
    async handler({ ctx, params, request }) {
      await getUser(ctx, params.id); // no such user: 404 before anything is read
      return setUserPhoto(ctx, params.id, await receivePhoto(request));
    },
  }),
  route({
    method: "DELETE",
    url: "/workspaces/:workspace/users/:id/photo",
    summary: "Remove a user's uploaded photo (a user of an Entra ID source that syncs photos has theirs from there)",
    access: "workspace",
    params: userParams,
    errors: { 404: "not_found: no such user, or they have no photo (details.resource: photo)", 409: "conflict: the user's photo comes from their Entra ID source, which syncs photos" },
    response: z.object({ userId: z.string() }),
    handler: ({ ctx, params }) => removeUserPhoto(ctx, params.id),
  }),
];
