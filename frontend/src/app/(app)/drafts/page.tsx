import type { Metadata } from "next";
import Link from "next/link";
import ErrorNotice from "@/components/ErrorNotice";
import Pagination from "@/components/Pagination";
import { formatDate, pageWindow } from "@/lib/format";
import { serverGet } from "@/lib/server-api";
import type { Draft, Page } from "@/lib/types";

export const metadata: Metadata = { title: "Drafts" };
const PAGE_SIZE = 20;

export default async function DraftsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { page, limit, offset } = pageWindow((await searchParams).page, PAGE_SIZE);
  const drafts = await serverGet<Page<Draft>>(`drafts?limit=${limit}&offset=${offset}`);
  return (
    <>
      <div className="row">
        <h1>Drafts</h1>
        <span className="spacer" />
        <Link className="button primary" href="/generate">
          New draft
        </Link>
      </div>
      {!drafts.ok ? (
        <ErrorNotice message={drafts.message} />
      ) : drafts.data.items.length === 0 ? (
        <p>
          No drafts {page > 1 ? "on this page" : "yet"}. <Link href="/generate">Generate one</Link>.
        </p>
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">Status</th>
                <th scope="col">Tags</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {drafts.data.items.map((draft) => (
                <tr key={draft.id}>
                  <td>
                    <Link href={`/drafts/${draft.id}`}>{draft.title}</Link>
                  </td>
                  <td>{draft.status}</td>
                  <td>{draft.tags.join(", ")}</td>
                  <td>{formatDate(draft.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pagination basePath="/drafts" page={page} pageSize={PAGE_SIZE} total={drafts.data.total} />
        </>
      )}
    </>
  );
}
