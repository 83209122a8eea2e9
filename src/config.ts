import { z } from "zod";
import { isIP } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { RollcallError } from "./errors.ts";

function isProxyEntry(entry: string): boolean {
  if (["loopback", "linklocal", "uniquelocal"].includes(entry)) return true;
  const [address = "", bits, ...rest] = entry.split("/");
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  return family !== 0 && rest.length === 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max));
}

/**
 * All configuration comes from the environment, is parsed once at start-up, and every problem is
 * reported together. Defaults make `npm start` work with nothing set.
 */
const schema = z.object({
  ROLLCALL_DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS: z.coerce
    .number("must be a number of seconds")
    .min(0.1, "must be from 0.1 to 300 seconds")
    .max(300, "must be from 0.1 to 300 seconds")
    .default(5),
  ROLLCALL_DATABASE_WAIT_SECONDS: z.coerce
    .number("must be a number of seconds")
    .min(0, "must be from 0 (do not wait) to 3600 seconds")
    .max(3600, "must be from 0 (do not wait) to 3600 seconds")
    .default(60),
  ROLLCALL_HOST: z.string().min(1).default("127.0.0.1"),
  ROLLCALL_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ROLLCALL_PUBLIC_URL: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL (the address users reach Rollcall at)" }).optional(),
  ROLLCALL_TRUST_PROXY: z
    .string()
    .default("loopback,linklocal,uniquelocal")
    .transform((value) => value.split(",").map((entry) => entry.trim()).filter(Boolean))
    .refine((entries) => entries.every(isProxyEntry), "must list addresses, CIDR ranges (10.0.0.0/8) or loopback, linklocal, uniquelocal, separated by commas"),
  ROLLCALL_SECRET_KEY: z
    .string()
    .trim() // a key mounted from a secret file ends with a newline
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`")
    .optional(),
  ROLLCALL_SECRET_KEY_PREVIOUS: z
    .string()
    .default("")
    .transform((value) => value.split(",").map((key) => key.trim()).filter(Boolean))
    .refine((keys) => keys.every((key) => /^[0-9a-fA-F]{64}$/.test(key)), "must be keys of 64 hex characters, separated by commas (the keys before ROLLCALL_SECRET_KEY)"),
  ROLLCALL_COOKIE_SECURE: z.enum(["auto", "true", "false"]).default("auto"),
  ROLLCALL_SESSION_HOURS: z.coerce.number().positive().default(12),
  ROLLCALL_UPLOAD_LIMIT_MB: z.coerce.number().positive().default(50),
  ROLLCALL_ADMIN_EMAIL: z.email().default("admin@rollcall.local"),
  ROLLCALL_ADMIN_PASSWORD: z.string().min(12, "must be at least 12 characters").optional(),
  ROLLCALL_LOGIN_ATTEMPTS: z.coerce.number().int().min(1).default(10),
  ROLLCALL_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ROLLCALL_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  ROLLCALL_SMTP_FROM: z.string().min(3).default("Rollcall <rollcall@localhost>"),
  ROLLCALL_NOTIFY_INTERVAL_SECONDS: z.coerce.number().min(1).default(60),
  ROLLCALL_SCHEDULE_CHECK_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  ROLLCALL_CHANGE_SYNC_DELAY_SECONDS: z.coerce.number("must be a number of seconds").min(0.1, "must be from 0.1 to 3600 seconds").max(3600, "must be from 0.1 to 3600 seconds").default(30),
  ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS: z.coerce.number("must be a number of seconds").min(0, "must be from 0 (no minimum) to 86400 seconds").max(86_400, "must be from 0 (no minimum) to 86400 seconds").default(120),
  ROLLCALL_NOTIFY_RETRY_SECONDS: z.coerce.number().min(0.1).default(30),
  ROLLCALL_NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  ROLLCALL_HISTORY_DAYS: z.coerce.number().int("must be a whole number of days").min(0, "must be 0 (keep everything) or a number of days").default(0),
  ROLLCALL_WEBHOOK_PRIVATE_NETWORK: z.enum(["true", "false"]).default("false"),
  ROLLCALL_ENTRA_CUSTOM_URLS: z.enum(["true", "false"]).default("false"),
  ROLLCALL_SCIM_REQUESTS_PER_MINUTE: z.coerce
    .number("must be a whole number of requests a minute")
    .int("must be a whole number of requests a minute")
    .refine((n) => n === 0 || n >= 600, "must be 0 (no limit) or at least 600 requests a minute: Entra ID's provisioning service sends a few hundred a minute in a busy cycle, and a refused request is a failure it retries only in a later cycle")
    .default(3000),
  ROLLCALL_METRICS_TOKEN: z
    .string()
    .trim() // a token mounted from a secret file ends with a newline
    .optional()
    .transform((value) => value || undefined)
    .refine((value) => value === undefined || /^[\x21-\x7e]{16,}$/.test(value), "must be 16 or more printable characters without spaces (what Prometheus sends as its bearer token); generate one with `openssl rand -hex 32`"),
});

export type Config = {
  dataDir: string;
  databaseUrl: string | undefined;
  /** How long a new connection to the PostgreSQL server may take before the request needing it fails (database_unreachable). */
  databaseConnectTimeoutMs: number;
  /** How long `rollcall serve` waits at start for a PostgreSQL server that cannot be reached yet; 0 fails at once. Other commands never wait. */
  databaseWaitMs: number;
  host: string;
  port: number;
  publicUrl: string | undefined;
  /** Whose X-Forwarded-For/-Proto count: addresses, CIDR ranges and proxy-addr's names (loopback, linklocal, uniquelocal). */
  trustProxy: string[];
  secretKey: string | undefined;
  /** Keys that still open secrets saved before a rotation (ROLLCALL_SECRET_KEY_PREVIOUS). */
  previousSecretKeys: string[];
  cookieSecure: "auto" | "true" | "false";
  sessionHours: number;
  uploadLimitBytes: number;
  adminEmail: string;
  adminPassword: string | undefined;
  /** Sign-in attempts allowed per client address and email in 5 minutes. */
  loginAttempts: number;
  logLevel: z.infer<typeof schema>["ROLLCALL_LOG_LEVEL"];
  /** Notifications: e-mail goes through this SMTP server (smtp:// or smtps://, credentials in the URL); none = no e-mail. */
  smtpUrl: string | undefined;
  smtpFrom: string;
  /** How often each process looks for things to warn about and deliveries that are due. */
  notifyIntervalMs: number;
  /** How often `rollcall serve` looks for sources whose scheduled sync is due. */
  scheduleCheckMs: number;
  /** Sync on change: how long after the first change notification of a burst its source's delta run starts (the burst is one run). */
  changeSyncDelayMs: number;
  /** Sync on change: the least time between the starts of two runs of one source that notifications started (a busy tenant's changes wait for it). */
  changeSyncMinIntervalMs: number;
  /** First retry delay of a failed delivery; doubles each attempt (with jitter) up to 6 hours. */
  notifyRetryMs: number;
  notifyMaxAttempts: number;
  /** How long change logs, runs, resolved notifications and dead API tokens are kept; 0 keeps them for ever. */
  historyDays: number;
  /** Whether webhooks may reach loopback, private and link-local addresses (an internal receiver). */
  webhookPrivateNetwork: boolean;
  /**
   * Whether Entra ID sources may use login and Graph URLs other than Microsoft's clouds': any (true), none (false),
   * or these origins only (`rollcall demo`: its own emulator's).
   */
  entraCustomUrls: boolean | readonly string[];
  /** Requests a minute each SCIM source's token may make to /scim/v2 before a 429; 0: no limit. */
  scimRequestsPerMinute: number;
  /** The bearer token Prometheus scrapes /metrics with; unset, `rollcall serve` has no /metrics (404). */
  metricsToken: string | undefined;
};

/** `env` read with `variables`; every problem is reported together. */
function parseEnv<T extends z.ZodType>(variables: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = variables.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new RollcallError("config_invalid", `Invalid configuration:\n  ${problems.join("\n  ")}`, { problems });
  }
  return parsed.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(schema, env);
  return {
    dataDir: e.ROLLCALL_DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databaseConnectTimeoutMs: Math.round(e.ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS * 1000),
    databaseWaitMs: Math.round(e.ROLLCALL_DATABASE_WAIT_SECONDS * 1000),
    host: e.ROLLCALL_HOST,
    port: e.ROLLCALL_PORT,
    publicUrl: e.ROLLCALL_PUBLIC_URL,
    trustProxy: e.ROLLCALL_TRUST_PROXY,
    secretKey: e.ROLLCALL_SECRET_KEY,
    previousSecretKeys: e.ROLLCALL_SECRET_KEY_PREVIOUS,
    cookieSecure: e.ROLLCALL_COOKIE_SECURE,
    sessionHours: e.ROLLCALL_SESSION_HOURS,
    uploadLimitBytes: Math.round(e.ROLLCALL_UPLOAD_LIMIT_MB * 1024 * 1024),
    adminEmail: e.ROLLCALL_ADMIN_EMAIL,
    adminPassword: e.ROLLCALL_ADMIN_PASSWORD,
    loginAttempts: e.ROLLCALL_LOGIN_ATTEMPTS,
    logLevel: e.ROLLCALL_LOG_LEVEL,
    smtpUrl: e.ROLLCALL_SMTP_URL,
    smtpFrom: e.ROLLCALL_SMTP_FROM,
    notifyIntervalMs: Math.round(e.ROLLCALL_NOTIFY_INTERVAL_SECONDS * 1000),
    scheduleCheckMs: Math.round(e.ROLLCALL_SCHEDULE_CHECK_SECONDS * 1000),
    changeSyncDelayMs: Math.round(e.ROLLCALL_CHANGE_SYNC_DELAY_SECONDS * 1000),
    changeSyncMinIntervalMs: Math.round(e.ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS * 1000),
    notifyRetryMs: Math.round(e.ROLLCALL_NOTIFY_RETRY_SECONDS * 1000),
    notifyMaxAttempts: e.ROLLCALL_NOTIFY_MAX_ATTEMPTS,
    historyDays: e.ROLLCALL_HISTORY_DAYS,
    webhookPrivateNetwork: e.ROLLCALL_WEBHOOK_PRIVATE_NETWORK === "true",
    entraCustomUrls: e.ROLLCALL_ENTRA_CUSTOM_URLS === "true",
    scimRequestsPerMinute: e.ROLLCALL_SCIM_REQUESTS_PER_MINUTE,
    metricsToken: e.ROLLCALL_METRICS_TOKEN,
  };
}

/** An unset variable and an empty one mean the same: the default. */
const unlessEmpty = z.string().trim().optional().transform((value) => value || undefined);

/**
 * The CLI's own variables, on the client side of remote mode: the server it talks to instead of a database,
 * the credential it sends, where `rollcall login` keeps its session, and whether an unexpected error prints its
 * stack. ROLLCALL_SERVER is checked where it is used, with --server (cli/api-client.ts serverFrom).
 */
const cliSchema = z.object({
  ROLLCALL_SERVER: unlessEmpty,
  ROLLCALL_TOKEN: unlessEmpty,
  ROLLCALL_SESSION_FILE: unlessEmpty,
  XDG_CONFIG_HOME: unlessEmpty,
  ROLLCALL_DEBUG: unlessEmpty,
});

export interface CliEnv {
  server: string | undefined;
  /** An API token or a session token; it wins over the saved session. */
  token: string | undefined;
  sessionFile: string;
  debug: boolean;
}

export function loadCliEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const e = parseEnv(cliSchema, env);
  return {
    server: e.ROLLCALL_SERVER,
    token: e.ROLLCALL_TOKEN,
    sessionFile: e.ROLLCALL_SESSION_FILE ?? join(e.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "rollcall", "session.json"),
    debug: e.ROLLCALL_DEBUG !== undefined,
  };
}

let cliEnvironment: CliEnv | undefined;

/** The CLI's environment, parsed the first time a command needs it and kept for the rest of the process. */
export function cliEnv(): CliEnv {
  return (cliEnvironment ??= loadCliEnv());
}
