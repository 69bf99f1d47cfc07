import { apiBaseUrl } from "./config";

export interface BackendInit {
  method?: string;
  body?: BodyInit | null;
  contentType?: string | null;
  accessToken?: string | null;
  requestId: string;
  /** Aborts slow calls so a hung backend cannot pin a frontend worker. */
  timeoutMs?: number;
}

// How undici reports a pooled keep-alive connection that the backend closed (a replica draining
// in a rolling update) or a pod address that no longer listens: the request never reached the app.
const DROPPED_CONNECTION_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "UND_ERR_SOCKET"]);

/** True when fetch failed because the connection dropped (not a timeout, not an HTTP error). */
export function isDroppedConnection(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false; // undici: TypeError("fetch failed", { cause })
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && DROPPED_CONNECTION_CODES.has(code);
}

/**
 * fetch that sends an idempotent request (GET, HEAD) once more on a new connection when the
 * first one dropped; other methods are never repeated (the backend may have acted on them).
 */
export async function fetchIdempotent(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const method = (init.method ?? "GET").toUpperCase();
    if ((method === "GET" || method === "HEAD") && isDroppedConnection(error) && !init.signal?.aborted) {
      return fetch(url, init);
    }
    throw error;
  }
}

/** Calls the backend's /api/v1 API from the server side (route handlers, server components, proxy). */
export async function backendFetch(path: string, init: BackendInit): Promise<Response> {
  const headers = new Headers({ "X-Request-ID": init.requestId, Accept: "application/json" });
  if (init.contentType) headers.set("Content-Type", init.contentType);
  if (init.accessToken) headers.set("Authorization", `Bearer ${init.accessToken}`);
  return fetchIdempotent(`${apiBaseUrl()}/api/v1/${path.replace(/^\/+/, "")}`, {
    method: init.method ?? "GET",
    headers,
    body: init.body ?? null,
    cache: "no-store",
    redirect: "manual",
    signal: AbortSignal.timeout(init.timeoutMs ?? 60_000),
  });
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a well-formed incoming X-Request-ID, otherwise makes a new one. */
export function requestIdFrom(headers: Headers): string {
  const incoming = headers.get("x-request-id");
  return incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : crypto.randomUUID().replace(/-/g, "");
}

export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { detail: text.slice(0, 300) };
  }
}
