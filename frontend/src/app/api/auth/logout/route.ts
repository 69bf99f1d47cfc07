import { NextResponse, type NextRequest } from "next/server";
import { requestIdFrom } from "@/lib/backend";
import { crossOriginProblem, jsonError } from "@/lib/route-helpers";
import { isHttpsRequest } from "@/lib/security-headers";
import { applyCookies, clearedCookies } from "@/lib/session";

/** Signs out by deleting both cookies (the backend keeps no server-side session to end). */
export async function POST(request: NextRequest) {
  const requestId = requestIdFrom(request.headers);
  const crossOrigin = crossOriginProblem(request);
  if (crossOrigin) return jsonError(403, crossOrigin, requestId);
  const response = NextResponse.json({ ok: true }, { headers: { "X-Request-ID": requestId, "Cache-Control": "no-store" } });
  applyCookies(response, clearedCookies(isHttpsRequest(request.headers, request.url)));
  return response;
}
