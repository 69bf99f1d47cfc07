import { backendFetch, readJson } from "./backend";
import { jwtExpiry } from "./jwt";
import { tokenPairSchema, type TokenPair } from "./schemas";

export const ACCESS_COOKIE = "bc_access";
export const REFRESH_COOKIE = "bc_refresh";
const DEFAULT_REFRESH_SECONDS = 7 * 24 * 3600;

export interface CookieSpec {
  name: string;
  value: string;
  httpOnly: true;
  secure: boolean;
  sameSite: "lax";
  path: "/";
  maxAge: number;
}

/** The two httpOnly cookies that hold a token pair. Lifetimes follow the tokens' own expiry. */
export function sessionCookies(tokens: TokenPair, secure: boolean, nowSeconds: number): CookieSpec[] {
  const refreshExp = jwtExpiry(tokens.refresh_token);
  const refreshMaxAge = refreshExp ? Math.max(refreshExp - nowSeconds, 60) : DEFAULT_REFRESH_SECONDS;
  const base = { httpOnly: true, secure, sameSite: "lax", path: "/" } as const;
  return [
    { ...base, name: ACCESS_COOKIE, value: tokens.access_token, maxAge: Math.max(Math.floor(tokens.expires_in), 1) },
    { ...base, name: REFRESH_COOKIE, value: tokens.refresh_token, maxAge: refreshMaxAge },
  ];
}

export function clearedCookies(secure: boolean): CookieSpec[] {
  const base = { httpOnly: true, secure, sameSite: "lax", path: "/", value: "", maxAge: 0 } as const;
  return [
    { ...base, name: ACCESS_COOKIE },
    { ...base, name: REFRESH_COOKIE },
  ];
}

/** Anything with a Next-style `cookies.set(spec)`: NextResponse, or the cookies() store. */
export interface CookieSink {
  cookies: { set(spec: CookieSpec): unknown };
}

export function applyCookies(target: CookieSink, specs: CookieSpec[]): void {
  for (const spec of specs) target.cookies.set(spec);
}

// The backend rotates refresh tokens (the old one is revoked), so concurrent requests carrying the same
// refresh token must share one refresh call and its result instead of racing each other. The map lives
// on globalThis because src/proxy.ts and the route handlers are separate bundles in the same process.
const REFRESH_MAP = Symbol.for("blog-creator.refresh-inflight");
const globalStore = globalThis as typeof globalThis & { [REFRESH_MAP]?: Map<string, Promise<TokenPair | null>> };
const inflight = (globalStore[REFRESH_MAP] ??= new Map<string, Promise<TokenPair | null>>());
const RESULT_TTL_MS = 15_000;

/** Exchanges a refresh token for a new pair; null when the backend refuses it. */
export function refreshTokens(refreshToken: string, requestId: string): Promise<TokenPair | null> {
  const existing = inflight.get(refreshToken);
  if (existing) return existing;
  const pending = doRefresh(refreshToken, requestId);
  inflight.set(refreshToken, pending);
  void pending.finally(() => {
    const timer = setTimeout(() => inflight.delete(refreshToken), RESULT_TTL_MS);
    (timer as { unref?: () => void }).unref?.();
  });
  return pending;
}

async function doRefresh(refreshToken: string, requestId: string): Promise<TokenPair | null> {
  try {
    const response = await backendFetch("auth/refresh", {
      method: "POST",
      body: JSON.stringify({ refresh_token: refreshToken }),
      contentType: "application/json",
      requestId,
      timeoutMs: 10_000,
    });
    if (!response.ok) return null;
    const parsed = tokenPairSchema.safeParse(await readJson(response));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
