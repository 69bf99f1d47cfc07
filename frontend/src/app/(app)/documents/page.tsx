import type { Metadata } from "next";
import ErrorNotice from "@/components/ErrorNotice";
import Pagination from "@/components/Pagination";
import { formatBytes, formatDate, pageWindow } from "@/lib/format";
import { serverGet } from "@/lib/server-api";
import type { DocumentSummary, Page } from "@/lib/types";
import DeleteDocumentButton from "./DeleteDocumentButton";
import SearchPanel from "./SearchPanel";
import UploadZone from "./UploadZone";

export const metadata: Metadata = { title: "Documents" };
const PAGE_SIZE = 10;

export default async function DocumentsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { page, limit, offset } = pageWindow((await searchParams).page, PAGE_SIZE);
  const documents = await serverGet<Page<DocumentSummary>>(`documents?limit=${limit}&offset=${offset}`);
  return (
    <>
      <h1>Documents</h1>
      <UploadZone />
      <SearchPanel />
      <section aria-labelledby="doc-list-title">
        <h2 id="doc-list-title">Your documents {documents.ok ? `(${documents.data.total})` : null}</h2>
        {!documents.ok ? (
          <ErrorNotice message={documents.message} />
        ) : documents.data.items.length === 0 ? (
          <p>No documents {page > 1 ? "on this page" : "yet — upload some above"}.</p>
        ) : (
          <>
            <table>
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Size</th>
                  <th scope="col">Chunks</th>
                  <th scope="col">Uploaded</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {documents.data.items.map((doc) => (
                  <tr key={doc.id}>
                    <td>{doc.filename}</td>
                    <td>{formatBytes(doc.size_bytes)}</td>
                    <td>{doc.chunk_count}</td>
                    <td>{formatDate(doc.created_at)}</td>
                    <td>
                      <DeleteDocumentButton id={doc.id} filename={doc.filename} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pagination basePath="/documents" page={page} pageSize={PAGE_SIZE} total={documents.data.total} />
          </>
        )}
      </section>
    </>
  );
}
