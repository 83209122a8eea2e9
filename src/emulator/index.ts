// Public entry point of the Entra ID emulator (see README.md).
import { startServer } from "./server.ts";
import type { EmulatorOptions, RunningEmulator } from "./types.ts";

export type {
  AddTenantOptions, AppRegistrationInfo, AppRegistrationInput, AppSecret, EmulatorOptions, EmulatorStats, EmulatorTenants,
  GrantInfo, GrantOptions, GraphGroup, GraphUser, GroupInput, KnobSettings, MemberKind, MemberRef, RequestRecord,
  RunningEmulator, ServicePrincipalInfo, TenantHandle, TenantState, UserInput,
} from "./types.ts";

/** Start the emulator: one HTTPS port for the identity platform and Graph v1.0. */
export function startEmulator(options: EmulatorOptions & { dataDir: string }): Promise<RunningEmulator> {
  return startServer(options);
}

/** The tenant for `rollcall demo`: 2,500 realistically named users in 60 groups. */
export function startDemoEmulator(options: Omit<EmulatorOptions, "users" | "groups"> & { dataDir: string }): Promise<RunningEmulator> {
  return startServer({ ...options, users: 2500, groups: 60, demo: true });
}
