import { describe, expect, it } from "vitest";
import { isAllowedBackendPath } from "./bff-paths";
import { apiBaseUrl } from "./config";
import { formatDetail } from "./errors";
import { pageWindow, uploadProblem } from "./format";
import { isFresh, jwtExpiry } from "./jwt";
import { safeNextPath } from "./safe-next";
import { draftUpdateSchema, generateSchema, parseTags, registerSchema } from "./schemas";
import { buildCsp, isHttpsRequest } from "./security-headers";
import { clearedCookies, sessionCookies } from "./session";
import { parseSnippet } from "./snippet";

function jwt(payload: object): string {
  const encode = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "HS256" })}.${encode(payload)}.signature`;
}

describe("apiBaseUrl", () => {
  it("defaults to localhost:8000 and strips trailing slashes", () => {
    expect(apiBaseUrl({})).toBe("http://localhost:8000");
    expect(apiBaseUrl({ API_URL: "http://backend:9000/" })).toBe("http://backend:9000");
  });
  it("names the variable when the URL is malformed", () => {
    expect(() => apiBaseUrl({ API_URL: "backend:9000" })).toThrow(/API_URL="backend:9000" is invalid/);
    expect(() => apiBaseUrl({ API_URL: "ftp://x" })).toThrow(/API_URL/);
  });
});

describe("formatDetail", () => {
  it("uses the backend's detail string", () => {
    expect(formatDetail({ detail: "Email already registered" }, 409)).toBe("Email already registered");
  });
  it("turns FastAPI validation lists into field messages", () => {
    const body = { detail: [{ loc: ["body", "password"], msg: "String should have at least 8 characters" }] };
    expect(formatDetail(body, 422)).toBe("password: String should have at least 8 characters");
  });
  it("falls back to a readable message, never a stack trace", () => {
    expect(formatDetail("Traceback (most recent call last)", 500)).toBe("The server had a problem. Please try again.");
    expect(formatDetail(null, 413)).toMatch(/too large/);
  });
});

describe("jwt expiry", () => {
  it("reads exp and judges freshness with a margin", () => {
    const token = jwt({ sub: "u1", exp: 1_000 });
    expect(jwtExpiry(token)).toBe(1_000);
    expect(isFresh(token, 900)).toBe(true);
    expect(isFresh(token, 980)).toBe(false);
    expect(isFresh(undefined, 0)).toBe(false);
    expect(jwtExpiry("not-a-jwt")).toBeNull();
  });
});

describe("session cookies", () => {
  it("are httpOnly, SameSite=Lax, Secure only over HTTPS, and live as long as their tokens", () => {
    const tokens = { access_token: "a", refresh_token: jwt({ exp: 10_000 }), token_type: "bearer", expires_in: 900 };
    const [access, refresh] = sessionCookies(tokens, false, 1_000);
    expect(access).toMatchObject({ name: "bc_access", value: "a", httpOnly: true, sameSite: "lax", secure: false, maxAge: 900 });
    expect(refresh).toMatchObject({ name: "bc_refresh", maxAge: 9_000 });
    expect(sessionCookies(tokens, true, 1_000).every((cookie) => cookie.secure)).toBe(true);
    expect(clearedCookies(true).map((cookie) => [cookie.name, cookie.maxAge, cookie.value])).toEqual([
      ["bc_access", 0, ""],
      ["bc_refresh", 0, ""],
    ]);
  });
});

describe("security headers", () => {
  it("builds a nonce CSP that forbids framing and inline scripts", () => {
    const csp = buildCsp({ nonce: "abc", dev: false, https: false });
    expect(csp).toContain("script-src 'self' 'nonce-abc' 'strict-dynamic'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).not.toContain("upgrade-insecure-requests");
    expect(buildCsp({ nonce: "abc", dev: true, https: true })).toMatch(/unsafe-eval.*upgrade-insecure-requests/);
  });
  it("detects HTTPS behind a TLS-terminating proxy", () => {
    expect(isHttpsRequest(new Headers({ "x-forwarded-proto": "https" }), "http://pod:3000/")).toBe(true);
    expect(isHttpsRequest(new Headers({ "x-forwarded-proto": "http" }), "https://x/")).toBe(false);
    expect(isHttpsRequest(new Headers(), "https://x/")).toBe(true);
  });
});

describe("parseSnippet", () => {
  it("splits highlighted parts and decodes escaped text", () => {
    expect(parseSnippet("a &lt;b&gt; <mark>rollout</mark> &amp; <mark>canary</mark>!")).toEqual([
      { text: "a <b> ", highlighted: false },
      { text: "rollout", highlighted: true },
      { text: " & ", highlighted: false },
      { text: "canary", highlighted: true },
      { text: "!", highlighted: false },
    ]);
  });
  it("keeps escaped markup as text", () => {
    const parts = parseSnippet("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(parts).toEqual([{ text: "<script>alert(1)</script>", highlighted: false }]);
  });
});

describe("bff path allow-list", () => {
  it("allows the API the pages use and nothing that handles tokens", () => {
    expect(isAllowedBackendPath("GET", "documents")).toBe(true);
    expect(isAllowedBackendPath("DELETE", "documents/0123abcd")).toBe(true);
    expect(isAllowedBackendPath("GET", "drafts/abc/export")).toBe(true);
    expect(isAllowedBackendPath("PUT", "drafts/abc")).toBe(true);
    expect(isAllowedBackendPath("POST", "auth/login")).toBe(false);
    expect(isAllowedBackendPath("POST", "auth/refresh")).toBe(false);
    expect(isAllowedBackendPath("GET", "documents/../auth/refresh")).toBe(false);
    expect(isAllowedBackendPath("PATCH", "drafts/abc")).toBe(false);
  });
});

describe("safeNextPath", () => {
  it("refuses open redirects", () => {
    expect(safeNextPath("/drafts/1")).toBe("/drafts/1");
    expect(safeNextPath("//evil.example")).toBe("/dashboard");
    expect(safeNextPath("https://evil.example")).toBe("/dashboard");
    expect(safeNextPath("/\\evil.example")).toBe("/dashboard");
    expect(safeNextPath(null)).toBe("/dashboard");
  });
});

describe("schemas", () => {
  it("name the field and the fix", () => {
    const result = registerSchema.safeParse({ full_name: "Ann", email: "nope", password: "short" });
    expect(result.success).toBe(false);
    const messages = result.error?.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    expect(messages).toEqual(["email: Enter a valid email address.", "password: Password must be at least 8 characters."]);
  });
  it("validate generation requests against the API's limits", () => {
    expect(generateSchema.safeParse({ document_ids: [], tone: "casual", length: "short" }).success).toBe(false);
    expect(generateSchema.safeParse({ document_ids: ["a"], tone: "angry", length: "short" }).success).toBe(false);
    expect(generateSchema.safeParse({ document_ids: ["a"], tone: "casual", length: "long" }).success).toBe(true);
  });
  it("reject an empty draft title", () => {
    expect(draftUpdateSchema.safeParse({ title: "  ", content: "", status: "draft", tags: [] }).success).toBe(false);
  });
  it("normalise emails before checking them", () => {
    expect(registerSchema.parse({ full_name: " Ann ", email: " Ann@Example.COM ", password: "12345678" })).toEqual({
      full_name: "Ann",
      email: "ann@example.com",
      password: "12345678",
    });
  });
  it("parse tags", () => {
    expect(parseTags(" a, b ,,a, c ")).toEqual(["a", "b", "c"]);
  });
});

describe("format helpers", () => {
  it("reject unsupported and empty uploads by name", () => {
    expect(uploadProblem({ name: "x.docx", size: 10 })).toMatch(/^x\.docx: unsupported file type/);
    expect(uploadProblem({ name: "x.md", size: 0 })).toMatch(/empty/);
    expect(uploadProblem({ name: "X.PDF", size: 10 })).toBeNull();
  });
  it("compute page windows", () => {
    expect(pageWindow("3", 10)).toEqual({ page: 3, limit: 10, offset: 20 });
    expect(pageWindow("-1", 10)).toEqual({ page: 1, limit: 10, offset: 0 });
    expect(pageWindow(undefined, 10).offset).toBe(0);
  });
});
