import { useEffect, useState, type FormEvent } from "react";
import type * as z from "zod/mini";
import { errorMessage } from "./client-api";
import { fieldErrors, loadSchemas } from "./constants";
import { useHydrated } from "./use-hydrated";

type Schemas = Awaited<ReturnType<typeof loadSchemas>>;

export interface SchemaFormOptions<S extends z.ZodMiniType> {
  /** Picks the form's schema from the lazily loaded schema module. */
  schema: (schemas: Schemas) => S;
  /** Turns the form's fields into the value to validate (default: one value per field name). */
  read?: (form: FormData) => unknown;
  /** Sends valid data; it navigates away on success (the form stays busy), throws on failure. */
  send: (data: z.output<S>) => Promise<void>;
}

export interface SchemaForm {
  /** Field name → first validation message. */
  errors: Record<string, string>;
  /** The backend's readable message (or a network error) after a failed send. */
  formError: string | null;
  busy: boolean;
  /** False until hydrated and while sending: the submit button's `disabled` is `!canSubmit`. */
  canSubmit: boolean;
  onSubmit: (event: FormEvent<HTMLFormElement>) => void;
}

/**
 * The submit flow of the login, register and generate forms: no native submission, validation
 * with the same zod schema the route handlers use (loaded while the user types, not in First Load
 * JS), field errors next to the fields, then `send`, whose failure shows as the form's message.
 */
export function useSchemaForm<S extends z.ZodMiniType>({ schema, read, send }: SchemaFormOptions<S>): SchemaForm {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  useEffect(() => void loadSchemas(), []);

  async function submit(form: HTMLFormElement) {
    const data = new FormData(form);
    const parsed = schema(await loadSchemas()).safeParse(read ? read(data) : Object.fromEntries(data));
    if (!parsed.success) {
      setErrors(fieldErrors(parsed.error));
      return;
    }
    setErrors({});
    setFormError(null);
    setBusy(true);
    try {
      await send(parsed.data);
    } catch (error) {
      setFormError(errorMessage(error));
      setBusy(false);
    }
  }

  return {
    errors,
    formError,
    busy,
    canSubmit: hydrated && !busy,
    onSubmit: (event) => {
      event.preventDefault();
      void submit(event.currentTarget);
    },
  };
}
