"use client";

import { useRouter } from "next/navigation";
import { useRef, useState, type DragEvent } from "react";
import { errorMessage, uploadWithProgress } from "@/lib/client-api";
import { ALLOWED_EXTENSIONS, uploadProblem } from "@/lib/format";
import { useHydrated } from "@/lib/use-hydrated";

type UploadState = { key: string; name: string; progress: number; status: "uploading" | "done" | "error"; message?: string };

/** Drag-and-drop (or file picker) upload; each file gets its own progress bar and error. */
export default function UploadZone({ upload = uploadWithProgress }: { upload?: typeof uploadWithProgress }) {
  const router = useRouter();
  const inputRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const hydrated = useHydrated();

  const update = (key: string, patch: Partial<UploadState>) =>
    setUploads((current) => current.map((item) => (item.key === key ? { ...item, ...patch } : item)));

  async function uploadAll(files: File[]) {
    const batch = files.map((file, index) => ({ file, key: `${Date.now()}-${index}-${file.name}` }));
    setUploads((current) => [
      ...batch.map(({ file, key }) => {
        const problem = uploadProblem(file);
        return problem
          ? { key, name: file.name, progress: 0, status: "error" as const, message: problem }
          : { key, name: file.name, progress: 0, status: "uploading" as const };
      }),
      ...current,
    ]);
    let anyDone = false;
    // One at a time: keeps progress meaningful and the backend's rate limits happy.
    for (const { file, key } of batch) {
      if (uploadProblem(file)) continue;
      try {
        await upload(`/api/bff/documents`, file, (progress) => update(key, { progress }));
        update(key, { status: "done", progress: 1 });
        anyDone = true;
      } catch (error) {
        update(key, { status: "error", message: `${file.name}: ${errorMessage(error)}` });
      }
    }
    if (anyDone) router.refresh();
  }

  function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setDragging(false);
    void uploadAll(Array.from(event.dataTransfer.files));
  }

  return (
    <section aria-labelledby="upload-title" className="card">
      <h2 id="upload-title">Upload</h2>
      <div
        className={dragging ? "dropzone active" : "dropzone"}
        data-testid="dropzone"
        data-ready={hydrated ? "true" : undefined}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>Drag and drop {ALLOWED_EXTENSIONS.join(", ")} files here, or</p>
        <label htmlFor="file-input" className="button">
          Choose files
        </label>
        <input
          ref={inputRef}
          id="file-input"
          className="sr-only"
          type="file"
          multiple
          disabled={!hydrated}
          accept={ALLOWED_EXTENSIONS.join(",")}
          onChange={(event) => {
            const files = Array.from(event.currentTarget.files ?? []);
            event.currentTarget.value = "";
            void uploadAll(files);
          }}
        />
      </div>
      {uploads.length > 0 ? (
        <ul className="upload-list" aria-label="Uploads" aria-live="polite">
          {uploads.map((item) => (
            <li key={item.key} data-status={item.status}>
              <span>{item.name}</span>
              <progress max={1} value={item.progress} aria-label={`Upload progress for ${item.name}`} />
              <span className={item.status === "error" ? "field-error" : "hint"} role={item.status === "error" ? "alert" : undefined}>
                {item.status === "uploading" ? `${Math.round(item.progress * 100)}%` : item.status === "done" ? "Uploaded" : item.message}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
