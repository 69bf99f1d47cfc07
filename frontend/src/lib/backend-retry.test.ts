// @vitest-environment node
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fetchIdempotent, isDroppedConnection } from "./backend";

// A real HTTP server on 127.0.0.1 that drops the connection of the next `drops` requests
// without an answer, as a draining backend replica closes a pooled keep-alive connection.
let server: Server;
let base: string;
let drops = 0;
const received: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push(`${request.method} ${request.url}`);
    if (drops > 0) {
      drops -= 1;
      request.socket.destroy();
      return;
    }
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end('{"status":"ready"}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  drops = 0;
  received.length = 0;
});

describe("fetchIdempotent", () => {
  it("sends a GET once more when its connection dropped, and returns the answer", async () => {
    drops = 1;
    const response = await fetchIdempotent(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready" });
    expect(received).toEqual(["GET /readyz", "GET /readyz"]);
  });

  it("never repeats a POST: the backend may have acted on it", async () => {
    drops = 1;
    const error = await fetchIdempotent(`${base}/api/v1/documents`, { method: "POST", body: "x" }).catch((e: unknown) => e);
    expect(isDroppedConnection(error)).toBe(true);
    expect(received).toEqual(["POST /api/v1/documents"]);
  });

  it("gives up after one more try", async () => {
    drops = 2;
    const error = await fetchIdempotent(`${base}/readyz`).catch((e: unknown) => e);
    expect(isDroppedConnection(error)).toBe(true);
    expect(received).toHaveLength(2);
  });

  it("does not count a timeout or an HTTP error as a dropped connection", () => {
    expect(isDroppedConnection(new DOMException("The operation was aborted due to timeout", "TimeoutError"))).toBe(false);
    expect(isDroppedConnection(new TypeError("fetch failed", { cause: { code: "UND_ERR_HEADERS_TIMEOUT" } }))).toBe(false);
    expect(isDroppedConnection(new Error("HTTP 503"))).toBe(false);
  });
});
