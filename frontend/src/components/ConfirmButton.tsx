"use client";

import { useId, useRef, useState } from "react";
import { errorMessage } from "@/lib/client-api";
import { useHydrated } from "@/lib/use-hydrated";

interface Props {
  label: string;
  /** Accessible name for the trigger button when `label` alone is ambiguous (e.g. "Delete notes.md"). */
  ariaLabel?: string;
  title: string;
  message: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
}

/** A destructive action behind a modal confirmation dialog (native <dialog>: focus trap and Esc for free). */
export default function ConfirmButton({ label, ariaLabel, title, message, confirmLabel, onConfirm }: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  const [error, setError] = useState<string | null>(null);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      dialogRef.current?.close();
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" className="danger" aria-label={ariaLabel} disabled={!hydrated} onClick={() => dialogRef.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialogRef} aria-labelledby={titleId}>
        <h2 id={titleId}>{title}</h2>
        <p>{message}</p>
        {error ? (
          <p role="alert" className="alert error">
            {error}
          </p>
        ) : null}
        <div className="row">
          <button type="button" className="danger" onClick={confirm} disabled={busy}>
            {busy ? "Working…" : confirmLabel}
          </button>
          <button type="button" onClick={() => dialogRef.current?.close()} disabled={busy}>
            Cancel
          </button>
        </div>
      </dialog>
    </>
  );
}
