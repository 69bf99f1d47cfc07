import Link from "next/link";

/** Previous/next links for offset pagination; `page` is 1-based. */
export default function Pagination({ basePath, page, pageSize, total }: { basePath: string; page: number; pageSize: number; total: number }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1) return null;
  return (
    <nav className="pagination" aria-label="Pagination">
      {page > 1 ? <Link href={`${basePath}?page=${page - 1}`}>← Previous</Link> : <span className="hint">← Previous</span>}
      <span>
        Page {Math.min(page, pages)} of {pages}
      </span>
      {page < pages ? <Link href={`${basePath}?page=${page + 1}`}>Next →</Link> : <span className="hint">Next →</span>}
    </nav>
  );
}
