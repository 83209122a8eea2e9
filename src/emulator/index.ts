// Public entry point of the Entra ID emulator (see README.md).
import { startServer } from "./server.ts";
import type { EmulatorOptions, RunningEmulator } from "./types.ts";

export type { AppRegistrationInfo, AppRegistrationInput, AppSecret, GrantInfo, GrantOptions, ServicePrincipalInfo } from "./app-types.ts";
export type { CycleOptions, CycleReport, ProvisioningLogEntry } from "./provisioning.ts";
export type { GraphGroup, GraphUser, GroupInput, MemberKind, MemberRef, UserInput } from "./directory-types.ts";
export type {
  AddTenantOptions, EmulatorOptions, EmulatorStats, EmulatorTenants, KnobSettings, RequestRecord, RunningEmulator, TenantHandle, TenantState,
} from "./types.ts";

/** Start the emulator: one HTTPS port for the identity platform and Graph v1.0. */
export function startEmulator(options: EmulatorOptions & { dataDir: string }): Promise<RunningEmulator> {
  return startServer(options);
}

/** The tenant for `rollcall demo`: 2,500 realistically named users in 60 groups. */
export function startDemoEmulator(options: Omit<EmulatorOptions, "users" | "groups"> & { dataDir: string }): Promise<RunningEmulator> {
  return startServer({ ...options, users: 2500, groups: 60, demo: true });
}
