export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

export const ALLOWED_EXTENSIONS = [".txt", ".md", ".pdf"] as const;

/** Client-side check before uploading; the backend checks again (415/413/422). */
export function uploadProblem(file: { name: string; size: number }): string | null {
  const lower = file.name.toLowerCase();
  if (!ALLOWED_EXTENSIONS.some((ext) => lower.endsWith(ext))) {
    return `${file.name}: unsupported file type (allowed: ${ALLOWED_EXTENSIONS.join(", ")}).`;
  }
  if (file.size === 0) return `${file.name}: the file is empty.`;
  return null;
}

/** Page math for offset pagination; `page` is 1-based and clamped to at least 1. */
export function pageWindow(pageParam: string | string[] | undefined, pageSize: number) {
  const raw = Array.isArray(pageParam) ? pageParam[0] : pageParam;
  const parsed = Number.parseInt(raw ?? "1", 10);
  const page = Number.isFinite(parsed) && parsed > 0 ? parsed : 1;
  return { page, limit: pageSize, offset: (page - 1) * pageSize };
}
