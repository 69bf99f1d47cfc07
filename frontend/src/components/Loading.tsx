export default function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p role="status" aria-live="polite" className="hint">
      {label}
    </p>
  );
}
