"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import TextField from "@/components/TextField";
import { apiFetch, errorMessage } from "@/lib/client-api";
import { fieldErrors, loadSchemas } from "@/lib/constants";
import { useHydrated } from "@/lib/use-hydrated";

export default function RegisterForm() {
  const router = useRouter();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  // Fetch the validation schemas while the user types, not on the critical path.
  useEffect(() => void loadSchemas(), []);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.currentTarget));
    const { registerSchema } = await loadSchemas();
    const parsed = registerSchema.safeParse(data);
    if (!parsed.success) {
      setErrors(fieldErrors(parsed.error));
      return;
    }
    setErrors({});
    setFormError(null);
    setBusy(true);
    try {
      await apiFetch("/api/auth/register", { json: parsed.data });
      router.push("/login?registered=1");
    } catch (error) {
      setFormError(errorMessage(error));
      setBusy(false);
    }
  }

  return (
    <form className="stack card" method="post" onSubmit={submit} noValidate aria-labelledby="register-title">
      <h1 id="register-title">Create an account</h1>
      {formError ? (
        <p role="alert" className="alert error">
          {formError}
        </p>
      ) : null}
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
      <button type="submit" className="primary" disabled={busy || !hydrated}>
        {busy ? "Creating account…" : "Create account"}
      </button>
      <p>
        Already registered? <Link href="/login">Sign in</Link>
      </p>
    </form>
  );
}
