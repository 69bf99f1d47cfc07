import { NextResponse, type NextRequest } from "next/server";
import { readJson } from "@/lib/backend";
import { forwardAuthPost } from "@/lib/route-helpers";
import { registerSchema } from "@/lib/schemas";

/** Creates an account and passes the backend's answer (the new user) on. */
export function POST(request: NextRequest) {
  return forwardAuthPost(request, "auth/register", registerSchema, async (upstream, requestId) =>
    NextResponse.json(await readJson(upstream), { status: 201, headers: { "X-Request-ID": requestId } }),
  );
}
