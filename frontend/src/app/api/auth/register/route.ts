import { NextResponse, type NextRequest } from "next/server";
import { backendFetch, readJson, requestIdFrom } from "@/lib/backend";
import { crossOriginProblem, backendUnavailable, jsonError, parseBody, relayError } from "@/lib/route-helpers";
import { registerSchema } from "@/lib/schemas";

export async function POST(request: NextRequest) {
  const requestId = requestIdFrom(request.headers);
  const crossOrigin = crossOriginProblem(request);
  if (crossOrigin) return jsonError(403, crossOrigin, requestId);
  const body = await parseBody(request, registerSchema, requestId);
  if ("response" in body) return body.response;

  let upstream: Response;
  try {
    upstream = await backendFetch("auth/register", {
      method: "POST",
      body: JSON.stringify(body.data),
      contentType: "application/json",
      requestId,
    });
  } catch {
    return backendUnavailable(requestId);
  }
  if (!upstream.ok) return relayError(upstream, requestId);
  return NextResponse.json(await readJson(upstream), { status: 201, headers: { "X-Request-ID": requestId } });
}
