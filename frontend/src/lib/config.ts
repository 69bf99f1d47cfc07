import * as z from "zod/mini";

const DEFAULT_API_URL = "http://localhost:8000";

const apiUrlSchema = z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://backend:8000" });

/**
 * Backend base URL, read from the server-side environment at request time so that one image
 * serves every environment. Throws a message naming the variable when it is malformed.
 */
export function apiBaseUrl(env: Record<string, string | undefined> = process.env): string {
  const raw = env.API_URL?.trim() || DEFAULT_API_URL;
  const parsed = apiUrlSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`API_URL=${JSON.stringify(raw)} is invalid: ${parsed.error.issues[0]?.message ?? "bad URL"}`);
  }
  return parsed.data.replace(/\/+$/, "");
}
