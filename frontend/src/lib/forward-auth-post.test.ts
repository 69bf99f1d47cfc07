// @vitest-environment node
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { NextRequest, NextResponse } from "next/server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { forwardAuthPost } from "./route-helpers";
import { registerSchema } from "./schemas";

// A real HTTP server on 127.0.0.1 stands in for the backend's /api/v1/auth/register.
const seen: { path?: string; body?: unknown; requestId?: string }[] = [];
let server: Server;
let previousApiUrl: string | undefined;

async function bodyOf(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text;
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = JSON.parse(await bodyOf(request)) as { email: string };
    seen.push({ path: request.url, body, requestId: request.headers["x-request-id"] as string });
    const taken = body.email === "taken@example.com";
    response.writeHead(taken ? 409 : 201, { "Content-Type": "application/json" });
    response.end(JSON.stringify(taken ? { detail: "this e-mail address is already registered" } : { id: "u1", email: body.email }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  previousApiUrl = process.env.API_URL;
  process.env.API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  process.env.API_URL = previousApiUrl;
  await new Promise((resolve) => server.close(resolve));
});

function post(body: unknown, headers: Record<string, string> = {}) {
  return new NextRequest("http://app.test/api/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json", host: "app.test", "X-Request-ID": "req-1", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const valid = { full_name: " Ada ", email: "Ada@Example.com", password: "long-enough" };
const passOn = vi.fn(async (upstream: Response, requestId: string) =>
  NextResponse.json(await upstream.json(), { status: 201, headers: { "X-Request-ID": requestId } }),
);

describe("forwardAuthPost", () => {
  it("validates, forwards to the backend and hands the answer to respond", async () => {
    const response = await forwardAuthPost(post(valid), "auth/register", registerSchema, passOn);
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: "u1", email: "ada@example.com" });
    expect(seen.at(-1)).toEqual({ path: "/api/v1/auth/register", body: { full_name: "Ada", email: "ada@example.com", password: "long-enough" }, requestId: "req-1" });
    expect(response.headers.get("x-request-id")).toBe("req-1");
  });

  it("relays the backend's error without calling respond", async () => {
    passOn.mockClear();
    const response = await forwardAuthPost(post({ ...valid, email: "taken@example.com" }), "auth/register", registerSchema, passOn);
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ detail: "this e-mail address is already registered" });
    expect(passOn).not.toHaveBeenCalled();
  });

  it("refuses cross-origin posts and invalid bodies before calling the backend", async () => {
    const before = seen.length;
    const crossOrigin = await forwardAuthPost(post(valid, { origin: "https://evil.test" }), "auth/register", registerSchema, passOn);
    expect(crossOrigin.status).toBe(403);
    const invalid = await forwardAuthPost(post({ ...valid, password: "short" }), "auth/register", registerSchema, passOn);
    expect(invalid.status).toBe(422);
    expect((await invalid.json()).detail).toBe("password: Password must be at least 8 characters.");
    const notJson = await forwardAuthPost(post("{nope"), "auth/register", registerSchema, passOn);
    expect(notJson.status).toBe(400);
    expect(seen.length).toBe(before);
  });

  it("answers 502 when the backend cannot be reached", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there any more (loopback refuses)
    const saved = process.env.API_URL;
    process.env.API_URL = `http://127.0.0.1:${port}`;
    try {
      const response = await forwardAuthPost(post(valid), "auth/register", registerSchema, passOn);
      expect(response.status).toBe(502);
      expect((await response.json()).detail).toMatch(/backend is unavailable/);
    } finally {
      process.env.API_URL = saved;
    }
  });
});
