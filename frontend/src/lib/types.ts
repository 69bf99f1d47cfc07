/** Backend response shapes (see notes/API_CONTRACT.md). */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface User {
  id: string;
  email: string;
  full_name: string;
  created_at: string;
}

export interface DocumentSummary {
  id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  chunk_count: number;
  created_at: string;
}

export interface SearchResult {
  document_id: string;
  filename: string;
  chunk_index: number;
  score: number;
  snippet: string;
}

export interface Draft {
  id: string;
  title: string;
  content: string;
  sources: { document_id: string; filename: string }[];
  tags: string[];
  status: "draft" | "published";
  created_at: string;
  updated_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

export interface CreatedApiKey extends Omit<ApiKey, "last_used_at"> {
  key: string;
}
