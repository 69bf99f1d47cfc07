import { NextResponse, type NextRequest } from "next/server";
import { fetchIdempotent, requestIdFrom } from "@/lib/backend";
import { apiBaseUrl } from "@/lib/config";

export const dynamic = "force-dynamic";

/** Readiness: ready only when the backend's /readyz answers 200. */
export async function GET(request: NextRequest) {
  const requestId = requestIdFrom(request.headers);
  const headers = { "Cache-Control": "no-store", "X-Request-ID": requestId };
  let reason: string;
  try {
    const upstream = await fetchIdempotent(`${apiBaseUrl()}/readyz`, {
      headers: { "X-Request-ID": requestId },
      cache: "no-store",
      signal: AbortSignal.timeout(3_000),
    });
    if (upstream.ok) return NextResponse.json({ status: "ready", checks: { backend: "ok" } }, { headers });
    reason = `backend /readyz answered HTTP ${upstream.status}`;
  } catch (error) {
    reason = `backend unreachable: ${error instanceof Error ? error.message : String(error)}`;
  }
  return NextResponse.json({ status: "not ready", checks: { backend: reason } }, { status: 503, headers });
}
