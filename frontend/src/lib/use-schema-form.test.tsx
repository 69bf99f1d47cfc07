import { act, fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "./errors";
import { useSchemaForm } from "./use-schema-form";

function LoginLike({ send }: { send: (data: { email: string; password: string }) => Promise<void> }) {
  const { errors, formError, busy, canSubmit, onSubmit } = useSchemaForm({ schema: (s) => s.loginSchema, send: (data) => send(data) });
  return (
    <form onSubmit={onSubmit} noValidate>
      {formError ? <p role="alert">{formError}</p> : null}
      <label htmlFor="email">Email</label>
      <input id="email" name="email" />
      {errors.email ? <p data-testid="email-error">{errors.email}</p> : null}
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" />
      {errors.password ? <p data-testid="password-error">{errors.password}</p> : null}
      <button type="submit" disabled={!canSubmit}>
        {busy ? "Busy" : "Go"}
      </button>
    </form>
  );
}

describe("useSchemaForm", () => {
  it("shows the schema's field errors and sends nothing while the form is invalid", async () => {
    const send = vi.fn(async () => {});
    render(<LoginLike send={send} />);
    await userEvent.type(screen.getByLabelText("Email"), "not-an-email");
    await act(async () => fireEvent.submit(screen.getByRole("button").closest("form")!));
    expect(await screen.findByTestId("email-error")).toHaveProperty("textContent", "Enter a valid email address.");
    expect(screen.getByTestId("password-error").textContent).toBe("Enter your password.");
    expect(send).not.toHaveBeenCalled();
  });

  it("sends the parsed data and stays busy while it navigates away", async () => {
    const send = vi.fn(async () => {});
    render(<LoginLike send={send} />);
    await userEvent.type(screen.getByLabelText("Email"), "  Writer@Example.COM ");
    await userEvent.type(screen.getByLabelText("Password"), "secret");
    await userEvent.click(screen.getByRole("button", { name: "Go" }));
    expect(send).toHaveBeenCalledWith({ email: "writer@example.com", password: "secret" });
    expect(screen.getByRole("button").textContent).toBe("Busy");
    expect(screen.getByRole("button")).toHaveProperty("disabled", true);
    expect(screen.queryByTestId("email-error")).toBeNull();
  });

  it("shows the backend's message after a failed send and lets the user retry", async () => {
    const send = vi.fn(async () => {
      throw new ApiError(401, "incorrect e-mail or password");
    });
    render(<LoginLike send={send} />);
    await userEvent.type(screen.getByLabelText("Email"), "a@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Go" }));
    expect((await screen.findByRole("alert")).textContent).toBe("incorrect e-mail or password");
    expect(screen.getByRole("button", { name: "Go" })).toHaveProperty("disabled", false);
    await userEvent.click(screen.getByRole("button", { name: "Go" }));
    expect(send).toHaveBeenCalledTimes(2);
  });
});
