"use client";

import { useEffect } from "react";

/** Error boundary body shared by every route's error.tsx: a readable message and a retry. */
export default function RouteError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <div role="alert" className="card">
      <h2>Something went wrong</h2>
      <p>This page could not be shown. Please try again; if it keeps happening, sign out and back in.</p>
      {error.digest ? <p className="hint">Reference: {error.digest}</p> : null}
      <button type="button" className="primary" onClick={reset}>
        Try again
      </button>
    </div>
  );
}
