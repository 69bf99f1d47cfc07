import DOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, async: false });

/**
 * Markdown → sanitised HTML for the live preview (browser only: DOMPurify needs a DOM). Raw HTML in
 * a draft is allowed by Markdown, so the output always goes through DOMPurify before it is shown.
 */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown, { async: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ["style", "form", "input", "button"] });
}
