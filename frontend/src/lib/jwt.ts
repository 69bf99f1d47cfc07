/**
 * Reads the `exp` claim of a JWT without verifying it. The backend verifies every token;
 * the frontend only needs the expiry to decide when to refresh and how long cookies live.
 */
export function jwtExpiry(token: string | undefined): number | null {
  if (!token) return null;
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: unknown };
    return typeof json.exp === "number" ? json.exp : null;
  } catch {
    return null;
  }
}

/** True when the token exists and stays valid for at least `marginSeconds` more. */
export function isFresh(token: string | undefined, nowSeconds: number, marginSeconds = 30): boolean {
  const exp = jwtExpiry(token);
  return exp !== null && exp - marginSeconds > nowSeconds;
}
