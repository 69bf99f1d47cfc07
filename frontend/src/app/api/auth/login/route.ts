import { NextResponse, type NextRequest } from "next/server";
import { backendFetch, readJson, requestIdFrom } from "@/lib/backend";
import { crossOriginProblem, backendUnavailable, jsonError, parseBody, relayError } from "@/lib/route-helpers";
import { loginSchema, tokenPairSchema } from "@/lib/schemas";
import { isHttpsRequest } from "@/lib/security-headers";
import { applyCookies, nowSeconds, sessionCookies } from "@/lib/session";

export async function POST(request: NextRequest) {
  const requestId = requestIdFrom(request.headers);
  const crossOrigin = crossOriginProblem(request);
  if (crossOrigin) return jsonError(403, crossOrigin, requestId);
  const body = await parseBody(request, loginSchema, requestId);
  if ("response" in body) return body.response;

  let upstream: Response;
  try {
    upstream = await backendFetch("auth/login", {
      method: "POST",
      body: JSON.stringify(body.data),
      contentType: "application/json",
      requestId,
    });
  } catch {
    return backendUnavailable(requestId);
  }
  if (!upstream.ok) return relayError(upstream, requestId);
  const tokens = tokenPairSchema.safeParse(await readJson(upstream));
  if (!tokens.success) return jsonError(502, "The backend sent an unexpected login response.", requestId);

  const response = NextResponse.json({ ok: true }, { headers: { "X-Request-ID": requestId, "Cache-Control": "no-store" } });
  applyCookies(response, sessionCookies(tokens.data, isHttpsRequest(request.headers, request.url), nowSeconds()));
  return response;
}
