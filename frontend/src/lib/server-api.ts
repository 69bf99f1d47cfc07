import "server-only";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { backendFetch, readJson, requestIdFrom } from "./backend";
import { formatDetail } from "./errors";
import { ACCESS_COOKIE } from "./session";

export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; message: string };

/**
 * GET from the backend inside a server component, with the session's access token (kept fresh by
 * src/proxy.ts). A rejected session sends the user to sign in again; other failures come back as a
 * readable message for the page to show.
 */
export async function serverGet<T>(path: string): Promise<ApiResult<T>> {
  const accessToken = (await cookies()).get(ACCESS_COOKIE)?.value;
  if (!accessToken) redirect("/login?expired=1");
  const requestId = requestIdFrom(await headers());
  let response: Response;
  try {
    response = await backendFetch(path, { accessToken, requestId, timeoutMs: 15_000 });
  } catch {
    return { ok: false, status: 502, message: "The backend is unavailable. Please try again shortly." };
  }
  if (response.status === 401) redirect("/login?expired=1");
  const body = await readJson(response);
  if (!response.ok) return { ok: false, status: response.status, message: formatDetail(body, response.status) };
  return { ok: true, data: body as T };
}
