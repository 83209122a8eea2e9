import v8 from "node:v8";
import { afterEach, describe, expect, it, vi } from "vitest";
import { withBoundedHeap } from "../../src/sync/heap.ts";

describe("withBoundedHeap", () => {
  afterEach(() => vi.restoreAllMocks());

  it("bounds the heap's growth while syncs overlap, and gives V8 its default back when the last one ends, even a failed one", async () => {
    const flags = vi.spyOn(v8, "setFlagsFromString");
    let endFirst!: () => void;
    const first = withBoundedHeap(() => new Promise<void>((resolve) => (endFirst = resolve)));
    const second = withBoundedHeap(async () => {
      throw new Error("sync failed");
    });
    await expect(second).rejects.toThrow("sync failed");
    expect(flags.mock.calls).toEqual([["--heap-growing-percent=25"]]);
    endFirst();
    await first;
    expect(flags.mock.calls).toEqual([["--heap-growing-percent=25"], ["--heap-growing-percent=0"]]);
  });
});
