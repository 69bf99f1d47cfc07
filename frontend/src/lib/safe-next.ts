/** Only same-site relative paths may be used as a post-login destination (no open redirects). */
export function safeNextPath(next: string | null | undefined, fallback = "/dashboard"): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  if (next.startsWith("/login") || next.startsWith("/register") || next.startsWith("/api/")) return fallback;
  return next;
}
