"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import ConfirmButton from "@/components/ConfirmButton";
import TextField from "@/components/TextField";
import { apiFetch, errorMessage } from "@/lib/client-api";
import { formatDate } from "@/lib/format";
import { loadSchemas } from "@/lib/constants";
import type { ApiKey, CreatedApiKey } from "@/lib/types";
import { useHydrated } from "@/lib/use-hydrated";

export default function ApiKeys({ keys }: { keys: ApiKey[] }) {
  const router = useRouter();
  const [name, setName] = useState("");
  const [nameError, setNameError] = useState<string | undefined>();
  const [formError, setFormError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [copied, setCopied] = useState(false);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  // Fetch the validation schemas while the user types, not on the critical path.
  useEffect(() => void loadSchemas(), []);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const { apiKeyCreateSchema } = await loadSchemas();
    const parsed = apiKeyCreateSchema.safeParse({ name });
    if (!parsed.success) {
      setNameError(parsed.error.issues[0]?.message);
      return;
    }
    setNameError(undefined);
    setFormError(null);
    setBusy(true);
    try {
      setCreated(await apiFetch<CreatedApiKey>("/api/bff/auth/api-keys", { json: parsed.data }));
      setCopied(false);
      setName("");
      router.refresh();
    } catch (error) {
      setFormError(errorMessage(error));
    } finally {
      setBusy(false);
    }
  }

  async function copy(key: string) {
    try {
      await navigator.clipboard.writeText(key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }

  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p className="hint">Use a key with the X-API-Key header to call the API from scripts.</p>
      <form className="row" method="post" onSubmit={create} noValidate>
        <div className="spacer">
          <TextField name="name" label="Key name" type="text" value={name} onChange={(event) => setName(event.target.value)} error={nameError} maxLength={100} />
        </div>
        <button type="submit" className="primary" disabled={busy || !hydrated}>
          {busy ? "Creating…" : "Create key"}
        </button>
      </form>
      {formError ? (
        <p role="alert" className="alert error">
          {formError}
        </p>
      ) : null}
      {created ? (
        <div className="alert success" role="status" data-testid="new-key">
          <p>
            Key “{created.name}” created. Copy it now — it will not be shown again.
          </p>
          <code className="key">{created.key}</code>
          <div className="row">
            <button type="button" onClick={() => void copy(created.key)}>
              {copied ? "Copied" : "Copy"}
            </button>
            <button type="button" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
      {keys.length === 0 ? (
        <p>No API keys.</p>
      ) : (
        <table aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{formatDate(key.created_at)}</td>
                <td>{key.last_used_at ? formatDate(key.last_used_at) : "never"}</td>
                <td>
                  <ConfirmButton
                    label="Revoke"
                    ariaLabel={`Revoke ${key.name}`}
                    title="Revoke this key?"
                    message={`Scripts using “${key.name}” will stop working immediately.`}
                    confirmLabel="Revoke key"
                    onConfirm={async () => {
                      await apiFetch(`/api/bff/auth/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
                      router.refresh();
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
