import { NextResponse } from "next/server";

export const dynamic = "force-dynamic";

/** Liveness: answers without calling the backend. */
export function GET() {
  return NextResponse.json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
}
