"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import ErrorNotice from "@/components/ErrorNotice";
import TextField from "@/components/TextField";
import { apiFetch } from "@/lib/client-api";
import { useSchemaForm } from "@/lib/use-schema-form";

export default function RegisterForm() {
  const router = useRouter();
  const { errors, formError, busy, canSubmit, onSubmit } = useSchemaForm({
    schema: (schemas) => schemas.registerSchema,
    send: async (data) => {
      await apiFetch("/api/auth/register", { json: data });
      router.push("/login?registered=1");
    },
  });

  return (
    <form className="stack card" method="post" onSubmit={onSubmit} noValidate aria-labelledby="register-title">
      <h1 id="register-title">Create an account</h1>
      {formError ? <ErrorNotice message={formError} /> : null}
      <TextField name="full_name" label="Full name" type="text" autoComplete="name" required error={errors.full_name} />
      <TextField name="email" label="Email" type="email" autoComplete="email" required error={errors.email} />
      <TextField
        name="password"
        label="Password"
        type="password"
        autoComplete="new-password"
        required
        minLength={8}
        hint="At least 8 characters."
        error={errors.password}
      />
      <button type="submit" className="primary" disabled={!canSubmit}>
        {busy ? "Creating account…" : "Create account"}
      </button>
      <p>
        Already registered? <Link href="/login">Sign in</Link>
      </p>
    </form>
  );
}
