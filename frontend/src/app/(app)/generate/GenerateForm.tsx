"use client";

import { useRouter } from "next/navigation";
import ErrorNotice from "@/components/ErrorNotice";
import { apiFetch } from "@/lib/client-api";
import { LENGTHS, TONES } from "@/lib/constants";
import type { Draft } from "@/lib/types";
import { useSchemaForm } from "@/lib/use-schema-form";

export default function GenerateForm({ documents }: { documents: { id: string; filename: string }[] }) {
  const router = useRouter();
  const { errors, formError, busy, canSubmit, onSubmit } = useSchemaForm({
    schema: (schemas) => schemas.generateSchema,
    read: (form) => ({
      document_ids: form.getAll("document_ids").map(String),
      topic: String(form.get("topic") ?? "").trim() || undefined,
      tone: form.get("tone"),
      length: form.get("length"),
    }),
    send: async (data) => {
      const draft = await apiFetch<Draft>("/api/bff/drafts/generate", { json: data });
      router.push(`/drafts/${draft.id}`);
    },
  });

  return (
    <form className="stack card" method="post" onSubmit={onSubmit} noValidate aria-busy={busy}>
      {formError ? <ErrorNotice message={formError} /> : null}
      <fieldset aria-describedby={errors.document_ids ? "documents-error" : undefined}>
        <legend>Source documents (up to 20)</legend>
        <ul className="checklist">
          {documents.map((doc) => (
            <li key={doc.id}>
              <input type="checkbox" id={`doc-${doc.id}`} name="document_ids" value={doc.id} />{" "}
              <label htmlFor={`doc-${doc.id}`}>{doc.filename}</label>
            </li>
          ))}
        </ul>
        {errors.document_ids ? (
          <p id="documents-error" className="field-error">
            {errors.document_ids}
          </p>
        ) : null}
      </fieldset>
      <div>
        <label htmlFor="topic">Topic (optional)</label>
        <input id="topic" name="topic" type="text" maxLength={300} aria-invalid={errors.topic ? true : undefined} />
        {errors.topic ? <p className="field-error">{errors.topic}</p> : null}
      </div>
      <div className="row">
        <div>
          <label htmlFor="tone">Tone</label>
          <select id="tone" name="tone" defaultValue="professional">
            {TONES.map((tone) => (
              <option key={tone} value={tone}>
                {tone}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="length">Length</label>
          <select id="length" name="length" defaultValue="medium">
            {LENGTHS.map((length) => (
              <option key={length} value={length}>
                {length}
              </option>
            ))}
          </select>
        </div>
      </div>
      <button type="submit" className="primary" disabled={!canSubmit}>
        {busy ? "Generating…" : "Generate draft"}
      </button>
      {busy ? (
        <p role="status" className="hint">
          Writing your draft — this can take a little while.
        </p>
      ) : null}
    </form>
  );
}
