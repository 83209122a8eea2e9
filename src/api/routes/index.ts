import type { RouteModule } from "../route.ts";
import { metaRoutes } from "./meta.ts";
import { authRoutes } from "./auth.ts";
import { accountRoutes } from "./accounts.ts";
import { workspaceRoutes } from "./workspaces.ts";
import { userRoutes } from "./users.ts";
import { groupRoutes } from "./groups.ts";
import { tokenRoutes } from "./tokens.ts";
import { sourceRoutes } from "./sources.ts";
import { importRoutes } from "./imports.ts";
import { signInRoutes } from "./signin.ts";
import { notificationRoutes } from "./notifications.ts";
import { metricsRoutes } from "./metrics.ts";
import { graphNotificationRoutes } from "./graph-notifications.ts";

/**
 * Every API route module, in the order the OpenAPI document lists them. To add one, write
 * `routes/<name>.ts` exporting a `RouteModule` (routes built with `route()` from `../route.ts`, each
 * with its zod schemas) and add it to this list: that single line both serves and documents it.
 */
export const routeModules: RouteModule[] = [metaRoutes, authRoutes, accountRoutes, workspaceRoutes, userRoutes, groupRoutes, tokenRoutes, sourceRoutes, importRoutes, signInRoutes, notificationRoutes, graphNotificationRoutes, metricsRoutes];
