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

/** Calls the backend's /api/v1 API from the server side (route handlers, server components, proxy). */
export async function backendFetch(path: string, init: BackendInit): Promise<Response> {
  const headers = new Headers({ "X-Request-ID": init.requestId, Accept: "application/json" });
  if (init.contentType) headers.set("Content-Type", init.contentType);
  if (init.accessToken) headers.set("Authorization", `Bearer ${init.accessToken}`);
  return fetch(`${apiBaseUrl()}/api/v1/${path.replace(/^\/+/, "")}`, {
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
