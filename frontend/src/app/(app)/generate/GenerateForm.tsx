"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { apiFetch, errorMessage } from "@/lib/client-api";
import { LENGTHS, TONES, fieldErrors, loadSchemas } from "@/lib/constants";
import type { Draft } from "@/lib/types";
import { useHydrated } from "@/lib/use-hydrated";

export default function GenerateForm({ documents }: { documents: { id: string; filename: string }[] }) {
  const router = useRouter();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  // Fetch the validation schemas while the user types, not on the critical path.
  useEffect(() => void loadSchemas(), []);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const topic = String(form.get("topic") ?? "").trim();
    const { generateSchema } = await loadSchemas();
    const parsed = generateSchema.safeParse({
      document_ids: form.getAll("document_ids").map(String),
      topic: topic || undefined,
      tone: form.get("tone"),
      length: form.get("length"),
    });
    if (!parsed.success) {
      setErrors(fieldErrors(parsed.error));
      return;
    }
    setErrors({});
    setFormError(null);
    setBusy(true);
    try {
      const draft = await apiFetch<Draft>("/api/bff/drafts/generate", { json: parsed.data });
      router.push(`/drafts/${draft.id}`);
    } catch (error) {
      setFormError(errorMessage(error));
      setBusy(false);
    }
  }

  return (
    <form className="stack card" method="post" onSubmit={submit} noValidate aria-busy={busy}>
      {formError ? (
        <p role="alert" className="alert error">
          {formError}
        </p>
      ) : null}
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
      <button type="submit" className="primary" disabled={busy || !hydrated}>
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
