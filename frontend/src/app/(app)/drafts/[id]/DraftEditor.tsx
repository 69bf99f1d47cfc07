"use client";

import dynamic from "next/dynamic";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import ConfirmButton from "@/components/ConfirmButton";
import { apiFetch, errorMessage } from "@/lib/client-api";
import { createSaveQueue, isLatestFailure } from "@/lib/save-queue";
import { DRAFT_STATUSES, fieldErrors, loadSchemas, parseTags } from "@/lib/constants";
import type { Draft } from "@/lib/types";
import { useHydrated } from "@/lib/use-hydrated";

// The Markdown renderer and sanitiser load only on the editor page, after the form is usable.
const MarkdownPreview = dynamic(() => import("./MarkdownPreview"), {
  ssr: false,
  loading: () => <div className="preview hint">Loading preview…</div>,
});

type Editable = Pick<Draft, "title" | "content" | "status" | "tags">;

function sameDraft(a: Editable, b: Editable): boolean {
  return a.title === b.title && a.content === b.content && a.status === b.status && a.tags.join("\n") === b.tags.join("\n");
}

export type SendUpdate = (id: string, value: Editable) => Promise<Draft>;
const sendUpdate: SendUpdate = (id, value) => apiFetch<Draft>(`/api/bff/drafts/${encodeURIComponent(id)}`, { method: "PUT", json: value });

export default function DraftEditor({ initial, send = sendUpdate }: { initial: Draft; send?: SendUpdate }) {
  const router = useRouter();
  const [title, setTitle] = useState(initial.title);
  const [content, setContent] = useState(initial.content);
  const [status, setStatus] = useState<Draft["status"]>(initial.status);
  const [tagsText, setTagsText] = useState(initial.tags.join(", "));
  // `saved` is what the server has, optimistically updated while a save is in flight.
  const [saved, setSaved] = useState<Editable>(initial);
  const confirmed = useRef<Editable>(initial);
  const [phase, setPhase] = useState<"idle" | "saving" | "error">("idle");
  const [saveError, setSaveError] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const hydrated = useHydrated();
  const queue = useMemo(() => createSaveQueue((value: Editable) => send(initial.id, value)), [initial.id, send]);

  const current: Editable = { title, content, status, tags: parseTags(tagsText) };
  const dirty = !sameDraft(current, saved);

  // Fetch the validation schemas while the user types, not on the critical path.
  useEffect(() => void loadSchemas(), []);

  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  async function save() {
    const { draftUpdateSchema } = await loadSchemas();
    const parsed = draftUpdateSchema.safeParse(current);
    if (!parsed.success) {
      setErrors(fieldErrors(parsed.error));
      return;
    }
    setErrors({});
    setSaveError(null);
    setSaved(parsed.data);
    setPhase("saving");
    try {
      const outcome = await queue.save(parsed.data);
      confirmed.current = outcome.result;
      if (outcome.latest) {
        setSaved(outcome.result);
        setPhase("idle");
      }
    } catch (error) {
      if (!isLatestFailure(error)) return;
      // Roll the optimistic state back; the user's edits stay in the form for a retry.
      setSaved(confirmed.current);
      setPhase("error");
      setSaveError(errorMessage(error));
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLFormElement>) {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      void save();
    }
  }

  const stateText =
    phase === "saving" ? "Saving…" : phase === "error" ? `Save failed: ${saveError ?? "unknown error"}` : dirty ? "Unsaved changes" : "All changes saved";

  return (
    <form
      className="stack"
      method="post"
      onKeyDown={onKeyDown}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
      aria-label="Edit draft"
    >
      <div className="row">
        <button type="submit" className="primary" disabled={phase === "saving" || !hydrated}>
          Save
        </button>
        {phase === "error" ? (
          <button type="button" onClick={() => void save()}>
            Retry
          </button>
        ) : null}
        <span className={phase === "error" ? "save-state error" : "save-state"} role="status" aria-live="polite" data-testid="save-state">
          {stateText}
        </span>
        <span className="spacer" />
        <a className="button" href={`/api/bff/drafts/${encodeURIComponent(initial.id)}/export`} download>
          Export Markdown
        </a>
        <ConfirmButton
          label="Delete"
          ariaLabel="Delete draft"
          title="Delete this draft?"
          message="The draft will be removed permanently."
          confirmLabel="Delete draft"
          onConfirm={async () => {
            await apiFetch(`/api/bff/drafts/${encodeURIComponent(initial.id)}`, { method: "DELETE" });
            router.push("/drafts");
            router.refresh();
          }}
        />
      </div>
      {dirty ? <p className="hint">Export uses the last saved version — save first to include your edits.</p> : null}
      <div>
        <label htmlFor="draft-title">Title</label>
        <input id="draft-title" type="text" value={title} onChange={(event) => setTitle(event.target.value)} aria-invalid={errors.title ? true : undefined} />
        {errors.title ? <p className="field-error">{errors.title}</p> : null}
      </div>
      <div className="row">
        <div>
          <label htmlFor="draft-status">Status</label>
          <select id="draft-status" value={status} onChange={(event) => setStatus(event.target.value as Draft["status"])}>
            {DRAFT_STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <div className="spacer">
          <label htmlFor="draft-tags">Tags (comma-separated)</label>
          <input id="draft-tags" type="text" value={tagsText} onChange={(event) => setTagsText(event.target.value)} />
          {errors.tags ? <p className="field-error">{errors.tags}</p> : null}
        </div>
      </div>
      <div className="editor">
        <div>
          <label htmlFor="draft-content">Markdown</label>
          <textarea id="draft-content" value={content} onChange={(event) => setContent(event.target.value)} spellCheck />
        </div>
        <div>
          <span className="label">
            Live preview
          </span>
          <MarkdownPreview markdown={content} />
        </div>
      </div>
      {initial.sources.length > 0 ? (
        <p className="hint">Sources: {initial.sources.map((source) => source.filename).join(", ")}</p>
      ) : null}
    </form>
  );
}
