import type { Metadata } from "next";
import { notFound } from "next/navigation";
import ErrorNotice from "@/components/ErrorNotice";
import { serverGet } from "@/lib/server-api";
import type { Draft } from "@/lib/types";
import DraftEditor from "./DraftEditor";

export const metadata: Metadata = { title: "Edit draft" };

export default async function DraftPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) notFound();
  const draft = await serverGet<Draft>(`drafts/${id}`);
  if (!draft.ok && draft.status === 404) notFound();
  return (
    <>
      <h1>Edit draft</h1>
      {draft.ok ? <DraftEditor key={draft.data.id} initial={draft.data} /> : <ErrorNotice message={draft.message} />}
    </>
  );
}
