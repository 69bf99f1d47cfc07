"use client";

import Link from "next/link";
import { useEffect, useState, type FormEvent } from "react";
import TextField from "@/components/TextField";
import { apiFetch, errorMessage } from "@/lib/client-api";
import { safeNextPath } from "@/lib/safe-next";
import { useHydrated } from "@/lib/use-hydrated";
import { fieldErrors, loadSchemas } from "@/lib/constants";

export default function LoginForm({ next, notice }: { next?: string; notice?: string }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  // Fetch the validation schemas while the user types, not on the critical path.
  useEffect(() => void loadSchemas(), []);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.currentTarget));
    const { loginSchema } = await loadSchemas();
    const parsed = loginSchema.safeParse(data);
    if (!parsed.success) {
      setErrors(fieldErrors(parsed.error));
      return;
    }
    setErrors({});
    setFormError(null);
    setBusy(true);
    try {
      await apiFetch("/api/auth/login", { json: parsed.data });
      // Full navigation so the proxy sees the new cookies and every server component re-renders.
      window.location.assign(safeNextPath(next));
    } catch (error) {
      setFormError(errorMessage(error));
      setBusy(false);
    }
  }

  return (
    <form className="stack card" method="post" onSubmit={submit} noValidate aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      {notice ? <p className="alert info">{notice}</p> : null}
      {formError ? (
        <p role="alert" className="alert error">
          {formError}
        </p>
      ) : null}
      <TextField name="email" label="Email" type="email" autoComplete="email" required error={errors.email} />
      <TextField name="password" label="Password" type="password" autoComplete="current-password" required error={errors.password} />
      <button type="submit" className="primary" disabled={busy || !hydrated}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      <p>
        No account yet? <Link href="/register">Create one</Link>
      </p>
    </form>
  );
}
