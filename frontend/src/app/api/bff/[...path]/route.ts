import { NextResponse, type NextRequest } from "next/server";
import { backendFetch, requestIdFrom } from "@/lib/backend";
import { isAllowedBackendPath } from "@/lib/bff-paths";
import { isFresh } from "@/lib/jwt";
import { BodyTooLarge, backendUnavailable, crossOriginProblem, jsonError, maxRequestBytes, readBodyLimited } from "@/lib/route-helpers";
import type { TokenPair } from "@/lib/schemas";
import { isHttpsRequest } from "@/lib/security-headers";
import {
  ACCESS_COOKIE,
  REFRESH_COOKIE,
  applyCookies,
  nowSeconds,
  refreshTokens,
  sessionCookies,
} from "@/lib/session";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ path: string[] }> };

const PASSED_RESPONSE_HEADERS = ["content-type", "content-disposition", "retry-after"];

/**
 * Same-origin proxy to the backend API: the browser never sees the backend URL or the tokens.
 * Adds the bearer token from the httpOnly cookie, refreshes it once when expired or rejected,
 * and forwards X-Request-ID both ways.
 */
async function handle(request: NextRequest, context: Context): Promise<Response> {
  const requestId = requestIdFrom(request.headers);
  const path = (await context.params).path.join("/");
  if (!isAllowedBackendPath(request.method, path)) return jsonError(404, "Not found.", requestId);
  const crossOrigin = crossOriginProblem(request);
  if (crossOrigin) return jsonError(403, crossOrigin, requestId);

  const https = isHttpsRequest(request.headers, request.url);
  const refreshToken = request.cookies.get(REFRESH_COOKIE)?.value;
  let accessToken = request.cookies.get(ACCESS_COOKIE)?.value;
  let refreshed: TokenPair | null = null;

  const refresh = async (): Promise<boolean> => {
    if (!refreshToken || refreshed) return false;
    refreshed = await refreshTokens(refreshToken, requestId);
    if (refreshed) accessToken = refreshed.access_token;
    return refreshed !== null;
  };

  if (!isFresh(accessToken, nowSeconds()) && !(await refresh())) {
    return jsonError(401, "Your session has expired. Please sign in again.", requestId);
  }

  // Buffered (with a cap) so the call can be replayed once after a refresh.
  let body: ArrayBuffer | null = null;
  if (request.method !== "GET" && request.method !== "DELETE") {
    const limit = maxRequestBytes();
    try {
      body = await readBodyLimited(request.body, request.headers.get("content-length"), limit);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      return jsonError(413, `The request is too large (at most ${Math.floor(limit / (1024 * 1024))} MiB).`, requestId);
    }
  }
  const call = () =>
    backendFetch(path + request.nextUrl.search, {
      method: request.method,
      body,
      contentType: request.headers.get("content-type"),
      accessToken,
      requestId,
      timeoutMs: 120_000,
    });

  let upstream: Response;
  try {
    upstream = await call();
    if (upstream.status === 401 && (await refresh())) upstream = await call();
  } catch {
    return backendUnavailable(requestId);
  }

  const headers = new Headers({ "X-Request-ID": upstream.headers.get("x-request-id") ?? requestId, "Cache-Control": "no-store" });
  for (const name of PASSED_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value) headers.set(name, value);
  }
  const response = new NextResponse(upstream.status === 204 ? null : upstream.body, { status: upstream.status, headers });
  // On 401 the cookies stay: the browser is sent to /login?expired, which clears them (see src/proxy.ts).
  if (refreshed) applyCookies(response, sessionCookies(refreshed, https, nowSeconds()));
  return response;
}

export const GET = handle;
export const POST = handle;
export const PUT = handle;
export const DELETE = handle;
