/** Security headers shared by next.config.ts (every response) and src/proxy.ts (pages). */

export interface HeaderEntry {
  key: string;
  value: string;
}

export function staticSecurityHeaders(): HeaderEntry[] {
  return [
    { key: "X-Content-Type-Options", value: "nosniff" },
    { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
    { key: "X-Frame-Options", value: "DENY" },
    { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
    {
      key: "Permissions-Policy",
      value: "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    },
  ];
}

export interface CspOptions {
  nonce: string;
  /** Development needs 'unsafe-eval' for React's debugging helpers. */
  dev: boolean;
  /** Only ask browsers to upgrade requests when the page itself was served over HTTPS. */
  https: boolean;
}

/** A strict, nonce-based Content-Security-Policy for HTML pages. */
export function buildCsp({ nonce, dev, https }: CspOptions): string {
  const directives = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' blob: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ];
  if (https) directives.push("upgrade-insecure-requests");
  return directives.join("; ");
}

/** A nonce: 128 random bits, base64. */
export function createNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

/** True when the client reached us over HTTPS (directly or through a TLS-terminating proxy). */
export function isHttpsRequest(headers: Headers, url: string): boolean {
  const forwarded = headers.get("x-forwarded-proto");
  if (forwarded) return forwarded.split(",")[0]?.trim() === "https";
  return url.startsWith("https:");
}
