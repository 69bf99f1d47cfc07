import * as z from "zod/mini";
import { DRAFT_STATUSES, LENGTHS, TONES } from "./constants";

export { DRAFT_STATUSES, LENGTHS, TONES, fieldErrors, parseTags } from "./constants";

/**
 * Form schemas: the same rules run in the browser (before sending) and in route handlers.
 * zod/mini keeps the browser bundle small (the full zod build adds ~30 kB gzipped to every form page),
 * and client components load this module on first use (see loadSchemas) so it stays out of First Load JS.
 */

export const emailSchema = z.pipe(z.string().check(z.trim(), z.toLowerCase()), z.email({ error: "Enter a valid email address." }));

export const loginSchema = z.object({
  email: emailSchema,
  password: z.string().check(z.minLength(1, { error: "Enter your password." })),
});

export const registerSchema = z.object({
  full_name: z.string().check(z.trim(), z.minLength(1, { error: "Enter your name." }), z.maxLength(200, { error: "Name is too long." })),
  email: emailSchema,
  password: z.string().check(z.minLength(8, { error: "Password must be at least 8 characters." }), z.maxLength(256)),
});


export const generateSchema = z.object({
  document_ids: z
    .array(z.string().check(z.minLength(1)))
    .check(z.minLength(1, { error: "Pick at least one document." }), z.maxLength(20, { error: "Pick at most 20 documents." })),
  topic: z.optional(z.string().check(z.trim(), z.maxLength(300, { error: "Topic is too long (300 characters at most)." }))),
  tone: z.enum(TONES, { error: "Pick a tone." }),
  length: z.enum(LENGTHS, { error: "Pick a length." }),
});


export const draftUpdateSchema = z.object({
  title: z.string().check(z.trim(), z.minLength(1, { error: "Title cannot be empty." }), z.maxLength(300, { error: "Title is too long." })),
  content: z.string(),
  status: z.enum(DRAFT_STATUSES),
  tags: z.array(z.string().check(z.trim(), z.minLength(1), z.maxLength(50))).check(z.maxLength(20, { error: "At most 20 tags." })),
});

export const apiKeyCreateSchema = z.object({
  name: z.string().check(z.trim(), z.minLength(1, { error: "Give the key a name." }), z.maxLength(100, { error: "Name is too long." })),
});

export const searchSchema = z.object({
  query: z.string().check(z.trim(), z.minLength(1, { error: "Type something to search for." }), z.maxLength(500)),
  k: z.int().check(z.minimum(1), z.maximum(50)),
});

export type * from "./types";

export const tokenPairSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  refresh_token: z.string().check(z.minLength(1)),
  token_type: z.string(),
  expires_in: z.number().check(z.positive()),
});
export type TokenPair = z.infer<typeof tokenPairSchema>;
