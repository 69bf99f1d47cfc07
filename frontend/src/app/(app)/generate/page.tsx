import type { Metadata } from "next";
import Link from "next/link";
import ErrorNotice from "@/components/ErrorNotice";
import { serverGet } from "@/lib/server-api";
import type { DocumentSummary, Page } from "@/lib/types";
import GenerateForm from "./GenerateForm";

export const metadata: Metadata = { title: "Generate a draft" };

export default async function GeneratePage() {
  const documents = await serverGet<Page<DocumentSummary>>("documents?limit=100&offset=0");
  return (
    <>
      <h1>Generate a draft</h1>
      {!documents.ok ? (
        <ErrorNotice message={documents.message} />
      ) : documents.data.items.length === 0 ? (
        <p>
          You have no documents yet. <Link href="/documents">Upload some first</Link>.
        </p>
      ) : (
        <GenerateForm documents={documents.data.items.map(({ id, filename }) => ({ id, filename }))} />
      )}
    </>
  );
}
