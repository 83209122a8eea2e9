// EmulatorTenants: every tenant of the emulated cloud, found by GUID or verified domain.
import { AppDirectory, newSecretValue } from "./apps.ts";
import { generateGroups, generateManagers, generateUsers } from "./generator.ts";
import { TenantEntry } from "./handle.ts";
import { Rng } from "./rng.ts";
import { Tenant } from "./tenant.ts";
import type { AddTenantOptions, EmulatorTenants } from "./types.ts";

export class TenantRegistry implements EmulatorTenants {
  readonly apps = new AppDirectory();
  private byKey = new Map<string, TenantEntry>();
  private entries: TenantEntry[] = [];
  private counter = 0;
  /** Told of every change made through a tenant's handle (the server's subscriptions). */
  onChange: (tenantId: string, ...change: Parameters<TenantEntry["onChange"]>) => void = () => undefined;

  constructor(private readonly seed: number) {}

  get(idOrDomain: string): TenantEntry {
    const t = this.find(idOrDomain);
    if (!t) throw new Error(`tenant ${idOrDomain} not found`);
    return t;
  }
  find(idOrDomain: string): TenantEntry | undefined {
    return this.byKey.get(idOrDomain.toLowerCase());
  }
  list(): TenantEntry[] {
    return [...this.entries];
  }

  add(options: AddTenantOptions = {}): TenantEntry {
    const n = this.counter++;
    const seed = options.seed ?? this.seed + n;
    const r = Rng.derive(seed, `tenant:${n}`);
    const id = (options.id ?? r.guid()).toLowerCase();
    const slug = options.demo ? "northwindtraders" : n === 0 ? "rollcalldev" : `rollcalltest${n}`;
    const domain = (options.domain ?? `${slug}.onmicrosoft.com`).toLowerCase();
    if (this.byKey.has(id) || this.byKey.has(domain)) throw new Error(`tenant ${id} / ${domain} already exists`);
    const tenant = new Tenant(id, domain, options.displayName ?? (options.demo ? "Northwind Traders" : n === 0 ? "Rollcall Dev" : `Rollcall Test ${n}`));
    generateUsers(tenant, options.users ?? 200, seed);
    generateManagers(tenant, seed);
    generateGroups(tenant, options.groups ?? 20, seed);
    const entry = new TenantEntry(tenant, this.apps);
    entry.onChange = (...change) => this.onChange(id, ...change);
    // The default app and its secret come from the seed too, so a restarted emulator (same seed)
    // accepts credentials stored by an earlier run.
    // The demo's app is set up as Rollcall's README advises: with the login_hint claim, for sign-out without a picker.
    const optionalClaims = options.demo ? { idToken: [{ name: "login_hint" }] } : undefined;
    const app = entry.registerApp({ clientId: r.guid(), displayName: "Rollcall", withSecret: false, ...(optionalClaims && { optionalClaims }) });
    const bytes = Uint8Array.from({ length: 40 }, () => r.int(256));
    const secret = this.apps.get(app.clientId)!.addSecret({ secretText: newSecretValue(bytes), keyId: r.guid(), displayName: "rollcall", expiresInDays: 730 });
    entry.defaultApp = { clientId: app.clientId, clientSecret: secret.secretText, secretId: secret.keyId };
    this.byKey.set(id, entry);
    this.byKey.set(domain, entry);
    this.entries.push(entry);
    return entry;
  }
}
