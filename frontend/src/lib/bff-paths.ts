/**
 * Backend paths the browser may reach through /api/bff/... . Login, register and refresh are
 * excluded: they go through /api/auth/*, which keep tokens in httpOnly cookies.
 */
const ID = "[A-Za-z0-9_-]{1,64}";
const ALLOWED: Record<string, RegExp[]> = {
  GET: [
    /^auth\/me$/,
    /^auth\/me\/export$/,
    /^auth\/api-keys$/,
    /^documents$/,
    new RegExp(`^documents/${ID}$`),
    /^drafts$/,
    new RegExp(`^drafts/${ID}$`),
    new RegExp(`^drafts/${ID}/export$`),
  ],
  POST: [/^auth\/api-keys$/, /^documents$/, /^documents\/search$/, /^drafts\/generate$/],
  PUT: [new RegExp(`^drafts/${ID}$`)],
  DELETE: [/^auth\/me$/, new RegExp(`^auth/api-keys/${ID}$`), new RegExp(`^documents/${ID}$`), new RegExp(`^drafts/${ID}$`)],
};

export function isAllowedBackendPath(method: string, path: string): boolean {
  return (ALLOWED[method] ?? []).some((pattern) => pattern.test(path));
}
