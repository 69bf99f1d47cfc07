import { describe, expect, it } from "vitest";
import { BodyTooLarge, maxRequestBytes, readBodyLimited } from "./route-helpers";

function streamOf(...chunks: number[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const size of chunks) controller.enqueue(new Uint8Array(size).fill(7));
      controller.close();
    },
  });
}

describe("readBodyLimited", () => {
  it("returns the whole body when it fits", async () => {
    const body = await readBodyLimited(streamOf(600, 400), null, 1000);
    expect(body.byteLength).toBe(1000);
    expect(new Uint8Array(body)[999]).toBe(7);
  });
  it("refuses a body that grows past the limit, even without Content-Length", async () => {
    await expect(readBodyLimited(streamOf(600, 401), null, 1000)).rejects.toBeInstanceOf(BodyTooLarge);
  });
  it("refuses early when the declared length is too large", async () => {
    await expect(readBodyLimited(null, "5000", 1000)).rejects.toBeInstanceOf(BodyTooLarge);
  });
});

describe("maxRequestBytes", () => {
  it("defaults to 32 MiB and names the variable when invalid", () => {
    expect(maxRequestBytes({})).toBe(32 * 1024 * 1024);
    expect(maxRequestBytes({ MAX_REQUEST_BYTES: "2048" })).toBe(2048);
    expect(() => maxRequestBytes({ MAX_REQUEST_BYTES: "10MB" })).toThrow(/MAX_REQUEST_BYTES="10MB" is invalid/);
  });
});
