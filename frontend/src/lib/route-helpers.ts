import { NextResponse, type NextRequest } from "next/server";
import type * as z from "zod/mini";
import { backendFetch, readJson, requestIdFrom } from "./backend";
import { formatDetail } from "./errors";

export function jsonError(status: number, detail: string, requestId: string): NextResponse {
  return NextResponse.json({ detail }, { status, headers: { "X-Request-ID": requestId, "Cache-Control": "no-store" } });
}

/**
 * Rejects state-changing requests sent from another origin. SameSite=Lax cookies already stop most
 * cross-site requests; this closes the rest (e.g. same-site subdomains).
 */
export function crossOriginProblem(request: NextRequest): string | null {
  if (request.method === "GET" || request.method === "HEAD") return null;
  const origin = request.headers.get("origin");
  if (!origin) return null;
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  try {
    return new URL(origin).host === host ? null : "Cross-origin request refused.";
  } catch {
    return "Cross-origin request refused.";
  }
}

/** Parses a JSON body against a schema: either the data or a 400/422 response naming the fields. */
export async function parseBody<T extends z.ZodMiniType>(
  request: NextRequest,
  schema: T,
  requestId: string,
): Promise<{ data: z.infer<T> } | { response: NextResponse }> {
  let raw: unknown;
  try {
    raw = await request.json();
  } catch {
    return { response: jsonError(400, "The request body must be JSON.", requestId) };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
    return { response: jsonError(422, detail, requestId) };
  }
  return { data: parsed.data };
}

/** Relays a backend error as {detail} with the backend's status. */
export async function relayError(response: Response, requestId: string): Promise<NextResponse> {
  return jsonError(response.status, formatDetail(await readJson(response), response.status), requestId);
}

export function backendUnavailable(requestId: string): NextResponse {
  return jsonError(502, "The backend is unavailable. Please try again shortly.", requestId);
}

/**
 * The shared body of the sign-in and registration route handlers: refuse cross-origin posts,
 * validate the JSON body, POST it to the backend's `backendPath`, relay its error or hand the
 * successful answer to `respond` (which sets cookies or passes the body on).
 */
export async function forwardAuthPost<T extends z.ZodMiniType>(
  request: NextRequest,
  backendPath: string,
  schema: T,
  respond: (upstream: Response, requestId: string) => Promise<NextResponse>,
): Promise<NextResponse> {
  const requestId = requestIdFrom(request.headers);
  const crossOrigin = crossOriginProblem(request);
  if (crossOrigin) return jsonError(403, crossOrigin, requestId);
  const body = await parseBody(request, schema, requestId);
  if ("response" in body) return body.response;

  let upstream: Response;
  try {
    upstream = await backendFetch(backendPath, { method: "POST", body: JSON.stringify(body.data), contentType: "application/json", requestId });
  } catch {
    return backendUnavailable(requestId);
  }
  if (!upstream.ok) return relayError(upstream, requestId);
  return respond(upstream, requestId);
}

const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/** MAX_REQUEST_BYTES: largest body the proxy buffers (keep it above the backend's MAX_UPLOAD_BYTES). */
export function maxRequestBytes(env: Record<string, string | undefined> = process.env): number {
  const raw = env.MAX_REQUEST_BYTES?.trim();
  if (!raw) return DEFAULT_MAX_REQUEST_BYTES;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1024) {
    throw new Error(`MAX_REQUEST_BYTES=${JSON.stringify(raw)} is invalid: use a whole number of bytes, at least 1024`);
  }
  return value;
}

export class BodyTooLarge extends Error {}

/** Reads a request body into memory, refusing (without reading on) once it passes `limit` bytes. */
export async function readBodyLimited(body: ReadableStream<Uint8Array> | null, declaredLength: string | null, limit: number): Promise<ArrayBuffer> {
  if (declaredLength !== null && Number(declaredLength) > limit) throw new BodyTooLarge();
  if (!body) return new ArrayBuffer(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out.buffer;
}
