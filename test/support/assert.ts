import { expect } from "vitest";
import { RollcallError } from "../../src/errors.ts";

/** The RollcallError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<RollcallError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RollcallError);
  return error as RollcallError;
}
