import type { Metadata } from "next";
import Link from "next/link";
import ErrorNotice from "@/components/ErrorNotice";
import { formatDate } from "@/lib/format";
import { serverGet } from "@/lib/server-api";
import type { DocumentSummary, Draft, Page } from "@/lib/types";

export const metadata: Metadata = { title: "Dashboard" };

export default async function DashboardPage() {
  const [documents, drafts] = await Promise.all([
    serverGet<Page<DocumentSummary>>("documents?limit=1&offset=0"),
    serverGet<Page<Draft>>("drafts?limit=5&offset=0"),
  ]);
  return (
    <>
      <h1>Dashboard</h1>
      <section className="stats" aria-label="Totals">
        <div className="card">
          <div className="hint">Documents</div>
          <div className="stat" data-testid="documents-count">
            {documents.ok ? documents.data.total : "—"}
          </div>
          <Link href="/documents">Manage documents</Link>
        </div>
        <div className="card">
          <div className="hint">Drafts</div>
          <div className="stat" data-testid="drafts-count">
            {drafts.ok ? drafts.data.total : "—"}
          </div>
          <Link href="/generate">Generate a draft</Link>
        </div>
      </section>
      {!documents.ok ? <ErrorNotice message={documents.message} /> : null}
      <h2>Recent drafts</h2>
      {!drafts.ok ? (
        <ErrorNotice message={drafts.message} />
      ) : drafts.data.items.length === 0 ? (
        <p>
          No drafts yet. <Link href="/documents">Upload documents</Link>, then <Link href="/generate">generate a draft</Link>.
        </p>
      ) : (
        <ul>
          {drafts.data.items.map((draft) => (
            <li key={draft.id}>
              <Link href={`/drafts/${draft.id}`}>{draft.title}</Link> <span className="hint">· {draft.status} · updated {formatDate(draft.updated_at)}</span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
