import { z } from "zod";

/** Form schemas: the same rules run in the browser (before sending) and in route handlers. */

export const emailSchema = z.email({ error: "Enter a valid email address." }).trim().toLowerCase();

export const loginSchema = z.object({
  email: emailSchema,
  password: z.string().min(1, { error: "Enter your password." }),
});

export const registerSchema = z.object({
  full_name: z.string().trim().min(1, { error: "Enter your name." }).max(200, { error: "Name is too long." }),
  email: emailSchema,
  password: z.string().min(8, { error: "Password must be at least 8 characters." }).max(256),
});

export const TONES = ["professional", "casual", "technical", "friendly"] as const;
export const LENGTHS = ["short", "medium", "long"] as const;

export const generateSchema = z.object({
  document_ids: z
    .array(z.string().min(1))
    .min(1, { error: "Pick at least one document." })
    .max(20, { error: "Pick at most 20 documents." }),
  topic: z.string().trim().max(300, { error: "Topic is too long (300 characters at most)." }).optional(),
  tone: z.enum(TONES, { error: "Pick a tone." }),
  length: z.enum(LENGTHS, { error: "Pick a length." }),
});

export const DRAFT_STATUSES = ["draft", "published"] as const;

export const draftUpdateSchema = z.object({
  title: z.string().trim().min(1, { error: "Title cannot be empty." }).max(300, { error: "Title is too long." }),
  content: z.string(),
  status: z.enum(DRAFT_STATUSES),
  tags: z.array(z.string().trim().min(1).max(50)).max(20, { error: "At most 20 tags." }),
});

export const apiKeyCreateSchema = z.object({
  name: z.string().trim().min(1, { error: "Give the key a name." }).max(100, { error: "Name is too long." }),
});

export const searchSchema = z.object({
  query: z.string().trim().min(1, { error: "Type something to search for." }).max(500),
  k: z.number().int().min(1).max(50),
});

/** Backend response shapes (see notes/API_CONTRACT.md). */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface User {
  id: string;
  email: string;
  full_name: string;
  created_at: string;
}

export interface DocumentSummary {
  id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  chunk_count: number;
  created_at: string;
}

export interface SearchResult {
  document_id: string;
  filename: string;
  chunk_index: number;
  score: number;
  snippet: string;
}

export interface Draft {
  id: string;
  title: string;
  content: string;
  sources: { document_id: string; filename: string }[];
  tags: string[];
  status: (typeof DRAFT_STATUSES)[number];
  created_at: string;
  updated_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

export interface CreatedApiKey extends Omit<ApiKey, "last_used_at"> {
  key: string;
}

export const tokenPairSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().positive(),
});
export type TokenPair = z.infer<typeof tokenPairSchema>;

/** Field → first message, for showing zod errors next to form fields. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
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
