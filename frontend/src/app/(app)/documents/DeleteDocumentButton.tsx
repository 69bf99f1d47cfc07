"use client";

import { useRouter } from "next/navigation";
import ConfirmButton from "@/components/ConfirmButton";
import { apiFetch } from "@/lib/client-api";

export default function DeleteDocumentButton({ id, filename }: { id: string; filename: string }) {
  const router = useRouter();
  return (
    <ConfirmButton
      label="Delete"
      ariaLabel={`Delete ${filename}`}
      title="Delete this document?"
      message={`“${filename}” and its search index entries will be removed. Drafts made from it are kept.`}
      confirmLabel="Delete document"
      onConfirm={async () => {
        await apiFetch(`/api/bff/documents/${encodeURIComponent(id)}`, { method: "DELETE" });
        router.refresh();
      }}
    />
  );
}
