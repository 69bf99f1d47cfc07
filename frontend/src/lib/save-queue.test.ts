import { describe, expect, it } from "vitest";
import { createSaveQueue, isLatestFailure } from "./save-queue";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("createSaveQueue", () => {
  it("sends saves one after another in order and marks only the newest as latest", async () => {
    const sent: string[] = [];
    const gates = [deferred<string>(), deferred<string>()];
    const queue = createSaveQueue((value: string) => {
      sent.push(value);
      return gates[sent.length - 1]!.promise;
    });
    const first = queue.save("v1");
    const second = queue.save("v2");
    await Promise.resolve();
    expect(sent).toEqual(["v1"]); // the second waits for the first
    gates[0]!.resolve("r1");
    await expect(first).resolves.toEqual({ result: "r1", latest: false });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(sent).toEqual(["v1", "v2"]);
    gates[1]!.resolve("r2");
    await expect(second).resolves.toEqual({ result: "r2", latest: true });
  });

  it("keeps going after a failure and flags whether the failure is the latest", async () => {
    let calls = 0;
    const queue = createSaveQueue(async (value: string) => {
      calls += 1;
      if (value === "bad") throw new Error("boom");
      return value;
    });
    const failed = queue.save("bad").catch((error: unknown) => error);
    const ok = queue.save("good");
    const error = await failed;
    expect(error).toBeInstanceOf(Error);
    expect(isLatestFailure(error)).toBe(false);
    await expect(ok).resolves.toEqual({ result: "good", latest: true });
    const lastFailure = await queue.save("bad").catch((caught: unknown) => caught);
    expect(isLatestFailure(lastFailure)).toBe(true);
    expect(calls).toBe(3);
  });
});
