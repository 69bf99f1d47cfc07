/** Zod-free constants and helpers, safe to import eagerly from client components. */
import type { Draft } from "./types";

export const TONES = ["professional", "casual", "technical", "friendly"] as const;
export const LENGTHS = ["short", "medium", "long"] as const;
export const DRAFT_STATUSES = ["draft", "published"] as const satisfies readonly Draft["status"][];

/** Field → first message, for showing validation errors next to form fields. */
export function fieldErrors(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join(".") || "form";
    if (!(key in out)) out[key] = issue.message;
  }
  return out;
}

/** "a, b ,, c" → ["a", "b", "c"] (deduplicated, order kept). */
export function parseTags(input: string): string[] {
  return [...new Set(input.split(",").map((tag) => tag.trim()).filter(Boolean))];
}

/** Loads the zod schemas on demand (first submit), keeping zod out of every page's First Load JS. */
export const loadSchemas = () => import("./schemas");
