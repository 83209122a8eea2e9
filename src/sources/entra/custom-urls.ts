import type { Config } from "../../config.ts";
import { RollcallError } from "../../errors.ts";
import { httpFetch, type HttpFetch } from "../../net/http.ts";
import { clouds, endpoints, type EntraConfig } from "./config.ts";

/**
 * Where an Entra ID source's requests may go: Microsoft's clouds' login and Graph hosts, and others (the emulator,
 * a test tenant behind a proxy) only where the server's operator allows them (ROLLCALL_ENTRA_CUSTOM_URLS). A source's
 * URLs are workspace settings: without this, a workspace admin could make Rollcall send requests to any HTTPS host
 * its network reaches and read the answers back in error messages.
 */
const microsoftOrigins = new Set(Object.values(clouds).flatMap((cloud) => [new URL(cloud.loginUrl).origin, new URL(cloud.graphUrl).origin]));

export function isMicrosoftUrl(url: string): boolean {
  return URL.canParse(url) && microsoftOrigins.has(new URL(url).origin);
}

/** Whether an Entra ID request may go to `url`, given what the operator allows beyond Microsoft's clouds (Config.entraCustomUrls). */
export function isAllowedEntraUrl(url: string, custom: Config["entraCustomUrls"]): boolean {
  if (custom === true) return true;
  return isMicrosoftUrl(url) || (Array.isArray(custom) && URL.canParse(url) && custom.includes(new URL(url).origin));
}

function refusal(url: string): string {
  return `${URL.canParse(url) ? new URL(url).origin : url} is not a login or Graph host of Microsoft's clouds; other hosts (such as the Entra emulator's) are allowed only when whoever runs Rollcall sets ROLLCALL_ENTRA_CUSTOM_URLS=true`;
}

/** The login and Graph URLs a source's settings would send requests to that are not allowed here, as field problems. */
export function customUrlProblems(config: Pick<EntraConfig, "cloud" | "loginUrl" | "graphUrl">, allowed: Config["entraCustomUrls"]): { field: string; message: string; value: string }[] {
  const urls = endpoints(config);
  return (["loginUrl", "graphUrl"] as const).filter((key) => !isAllowedEntraUrl(urls[key], allowed)).map((key) => ({ field: key, message: refusal(urls[key]), value: urls[key] }));
}

/**
 * The fetch an Entra ID source's requests go through. Refusing at each request (not only when settings are
 * saved) keeps a source saved while custom URLs were allowed from reaching its host once they no longer are,
 * and covers the URLs Microsoft's answers lead to (OpenID metadata, next pages).
 */
export function entraFetch(config: Pick<Config, "entraCustomUrls">): HttpFetch {
  if (config.entraCustomUrls === true) return httpFetch;
  return async (url, init) => {
    if (!isAllowedEntraUrl(url, config.entraCustomUrls)) throw new RollcallError("config_invalid", refusal(url), { url });
    return httpFetch(url, init);
  };
}
