/** Turns a backend error body into one readable sentence (FastAPI `detail` string or 422 list). */
export function formatDetail(body: unknown, status: number): string {
  const detail = typeof body === "object" && body !== null ? (body as { detail?: unknown }).detail : undefined;
  if (typeof detail === "string" && detail.trim()) return detail;
  if (Array.isArray(detail) && detail.length > 0) {
    return detail
      .map((item: unknown) => {
        if (typeof item !== "object" || item === null) return String(item);
        const { loc, msg } = item as { loc?: unknown; msg?: unknown };
        const field = Array.isArray(loc) ? loc.filter((part) => part !== "body" && part !== "query").join(".") : "";
        const message = typeof msg === "string" ? msg : "is invalid";
        return field ? `${field}: ${message}` : message;
      })
      .join("; ");
  }
  return fallbackMessage(status);
}

function fallbackMessage(status: number): string {
  if (status === 401) return "Your session has expired. Please sign in again.";
  if (status === 403) return "You are not allowed to do that.";
  if (status === 404) return "Not found.";
  if (status === 413) return "The file is too large.";
  if (status === 429) return "Too many requests. Please wait a moment and try again.";
  if (status >= 500) return "The server had a problem. Please try again.";
  return `Request failed (HTTP ${status}).`;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}
