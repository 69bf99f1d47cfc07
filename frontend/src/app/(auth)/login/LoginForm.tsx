"use client";

import Link from "next/link";
import ErrorNotice from "@/components/ErrorNotice";
import TextField from "@/components/TextField";
import { apiFetch } from "@/lib/client-api";
import { safeNextPath } from "@/lib/safe-next";
import { useSchemaForm } from "@/lib/use-schema-form";

export default function LoginForm({ next, notice }: { next?: string; notice?: string }) {
  const { errors, formError, busy, canSubmit, onSubmit } = useSchemaForm({
    schema: (schemas) => schemas.loginSchema,
    send: async (data) => {
      await apiFetch("/api/auth/login", { json: data });
      // Full navigation so the proxy sees the new cookies and every server component re-renders.
      window.location.assign(safeNextPath(next));
    },
  });

  return (
    <form className="stack card" method="post" onSubmit={onSubmit} noValidate aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      {notice ? <p className="alert info">{notice}</p> : null}
      {formError ? <ErrorNotice message={formError} /> : null}
      <TextField name="email" label="Email" type="email" autoComplete="email" required error={errors.email} />
      <TextField name="password" label="Password" type="password" autoComplete="current-password" required error={errors.password} />
      <button type="submit" className="primary" disabled={!canSubmit}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      <p>
        No account yet? <Link href="/register">Create one</Link>
      </p>
    </form>
  );
}
