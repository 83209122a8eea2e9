import { userInfo } from "node:os";
import { cliActor } from "../domain/actor.ts";

/** Who the local CLI's changes are by: the operating-system account running it ("cli:alice"), "cli" where it has none. */
export function localActor(): string {
  try {
    return cliActor(userInfo().username);
  } catch {
    return cliActor(undefined); // no entry in the user database (a container's arbitrary uid)
  }
}
