import { ApiError, formatDetail } from "./errors";

/** Sends the browser to sign in again, remembering where it was. */
export function redirectToLogin(): void {
  const next = window.location.pathname + window.location.search;
  // eslint-disable-next-line @next/next/no-location-assign-relative-destination -- a full load drops the signed-in user's cached pages
  window.location.assign(`/login?expired=1&next=${encodeURIComponent(next)}`);
}

/**
 * Calls the frontend's same-origin API (route handlers under /api). Throws ApiError carrying the
 * backend's readable `detail`; a 401 from /api/bff means the session is gone.
 */
export async function apiFetch<T>(path: string, init: { method?: string; json?: unknown } = {}): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? (init.json === undefined ? "GET" : "POST"),
    headers: init.json === undefined ? undefined : { "Content-Type": "application/json" },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
    credentials: "same-origin",
  });
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text.slice(0, 300) };
    }
  }
  if (!response.ok) {
    if (response.status === 401 && path.startsWith("/api/bff/")) redirectToLogin();
    throw new ApiError(response.status, formatDetail(body, response.status));
  }
  return body as T;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return "Network error: could not reach the server.";
  return error instanceof Error ? error.message : "Something went wrong.";
}

/** Uploads one file with progress callbacks (fetch cannot report upload progress; XHR can). */
export function uploadWithProgress<T>(url: string, file: File, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.responseType = "text";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new TypeError("network error"));
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = { detail: xhr.responseText.slice(0, 300) };
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body as T);
      } else {
        if (xhr.status === 401) redirectToLogin();
        reject(new ApiError(xhr.status, formatDetail(body, xhr.status)));
      }
    };
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}
