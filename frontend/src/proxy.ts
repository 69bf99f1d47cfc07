import { NextResponse, type NextRequest } from "next/server";
import { requestIdFrom } from "@/lib/backend";
import { isFresh } from "@/lib/jwt";
import { buildCsp, createNonce, isHttpsRequest } from "@/lib/security-headers";
import {
  ACCESS_COOKIE,
  REFRESH_COOKIE,
  applyCookies,
  clearedCookies,
  nowSeconds,
  refreshTokens,
  sessionCookies,
} from "@/lib/session";

const PUBLIC_PATHS = new Set(["/login", "/register"]);

/**
 * Runs before every page: sets the nonce-based CSP, refreshes an expiring session transparently
 * (the new tokens reach both the browser and this request's server components) and sends
 * signed-out visitors to /login.
 */
export async function proxy(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const https = isHttpsRequest(request.headers, request.url);
  const requestId = requestIdFrom(request.headers);
  const nonce = createNonce();
  const csp = buildCsp({ nonce, dev: process.env.NODE_ENV === "development", https });

  const access = request.cookies.get(ACCESS_COOKIE)?.value;
  const refresh = request.cookies.get(REFRESH_COOKIE)?.value;
  const now = nowSeconds();
  const sessionExpired = pathname === "/login" && request.nextUrl.searchParams.has("expired");

  let signedIn = !sessionExpired && isFresh(access, now);
  let refreshed = null;
  if (!signedIn && !sessionExpired && refresh) {
    refreshed = await refreshTokens(refresh, requestId);
    signedIn = refreshed !== null;
  }

  const isPublic = PUBLIC_PATHS.has(pathname);
  let response: NextResponse;
  if (!signedIn && !isPublic) {
    const login = new URL("/login", request.url);
    if (pathname !== "/") login.searchParams.set("next", pathname + search);
    response = NextResponse.redirect(login);
  } else if (signedIn && isPublic) {
    response = NextResponse.redirect(new URL("/dashboard", request.url));
  } else {
    const headers = new Headers(request.headers);
    headers.set("x-nonce", nonce);
    headers.set("Content-Security-Policy", csp);
    headers.set("x-request-id", requestId);
    if (refreshed) {
      request.cookies.set(ACCESS_COOKIE, refreshed.access_token);
      request.cookies.set(REFRESH_COOKIE, refreshed.refresh_token);
      headers.set("cookie", request.cookies.toString());
    }
    response = NextResponse.next({ request: { headers } });
  }

  if (refreshed) applyCookies(response, sessionCookies(refreshed, https, now));
  // A failed refresh leaves the cookies alone: a parallel request may just have rotated the token and
  // be setting the new pair. Cookies are cleared on logout and on /login?expired only.
  else if (sessionExpired && (access || refresh)) applyCookies(response, clearedCookies(https));
  response.headers.set("Content-Security-Policy", csp);
  response.headers.set("X-Request-ID", requestId);
  return response;
}

export const config = {
  // API routes handle their own auth (and must receive upload bodies unbuffered); static assets need none.
  matcher: ["/((?!api/|_next/static|_next/image|favicon.ico|robots.txt).*)"],
};
