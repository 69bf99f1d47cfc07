"use client";

import { useEffect, useState, type FormEvent } from "react";
import { apiFetch, errorMessage } from "@/lib/client-api";
import { loadSchemas } from "@/lib/constants";
import type { SearchResult } from "@/lib/types";
import { useHydrated } from "@/lib/use-hydrated";
import { parseSnippet } from "@/lib/snippet";

export function Snippet({ html }: { html: string }) {
  return (
    <>
      {parseSnippet(html).map((part, index) => (part.highlighted ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>))}
    </>
  );
}

export default function SearchPanel() {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<SearchResult[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  // Fetch the validation schemas while the user types, not on the critical path.
  useEffect(() => void loadSchemas(), []);

  async function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { searchSchema } = await loadSchemas();
    const parsed = searchSchema.safeParse({ query, k: 10 });
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? "Invalid search.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const response = await apiFetch<{ results: SearchResult[] }>("/api/bff/documents/search", { json: parsed.data });
      setResults(response.results);
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="search-title" className="card">
      <h2 id="search-title">Search your documents</h2>
      <form className="row" role="search" method="post" onSubmit={search}>
        <label htmlFor="search-query" className="sr-only">
          Search query
        </label>
        <input id="search-query" type="search" value={query} onChange={(event) => setQuery(event.target.value)} placeholder="e.g. kubernetes rollout" />
        <button type="submit" className="primary" disabled={busy || !hydrated}>
          {busy ? "Searching…" : "Search"}
        </button>
      </form>
      {error ? (
        <p role="alert" className="alert error">
          {error}
        </p>
      ) : null}
      {results !== null ? (
        results.length === 0 ? (
          <p role="status">No matches.</p>
        ) : (
          <ol className="results" aria-label="Search results">
            {results.map((result) => (
              <li key={`${result.document_id}-${result.chunk_index}`}>
                <strong>{result.filename}</strong> <span className="hint">· part {result.chunk_index + 1} · score {result.score.toFixed(2)}</span>
                <div>
                  <Snippet html={result.snippet} />
                </div>
              </li>
            ))}
          </ol>
        )
      ) : null}
    </section>
  );
}
