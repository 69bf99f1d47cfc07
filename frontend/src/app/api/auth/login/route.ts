import { NextResponse, type NextRequest } from "next/server";
import { readJson } from "@/lib/backend";
import { forwardAuthPost, jsonError } from "@/lib/route-helpers";
import { loginSchema, tokenPairSchema } from "@/lib/schemas";
import { isHttpsRequest } from "@/lib/security-headers";
import { applyCookies, nowSeconds, sessionCookies } from "@/lib/session";

/** Signs in: the backend's token pair goes into the two httpOnly cookies, never to the page. */
export function POST(request: NextRequest) {
  return forwardAuthPost(request, "auth/login", loginSchema, async (upstream, requestId) => {
    const tokens = tokenPairSchema.safeParse(await readJson(upstream));
    if (!tokens.success) return jsonError(502, "The backend sent an unexpected login response.", requestId);
    const response = NextResponse.json({ ok: true }, { headers: { "X-Request-ID": requestId, "Cache-Control": "no-store" } });
    applyCookies(response, sessionCookies(tokens.data, isHttpsRequest(request.headers, request.url), nowSeconds()));
    return response;
  });
}
