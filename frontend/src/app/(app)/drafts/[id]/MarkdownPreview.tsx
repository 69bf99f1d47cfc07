"use client";

import { useDeferredValue, useMemo } from "react";
import { renderMarkdown } from "@/lib/markdown";

export default function MarkdownPreview({ markdown }: { markdown: string }) {
  // Deferred so typing stays responsive on long drafts.
  const deferred = useDeferredValue(markdown);
  const html = useMemo(() => renderMarkdown(deferred), [deferred]);
  return <div className="preview" data-testid="preview" aria-label="Live preview" role="region" dangerouslySetInnerHTML={{ __html: html }} />;
}
