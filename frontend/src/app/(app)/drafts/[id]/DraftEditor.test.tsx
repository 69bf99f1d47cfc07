import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Draft } from "@/lib/types";
import DraftEditor, { type SendUpdate } from "./DraftEditor";

vi.mock("next/navigation", () => ({ useRouter: () => ({ push: vi.fn(), refresh: vi.fn() }) }));
// The real preview is covered by markdown.test.ts; here a plain echo keeps next/dynamic out of the test.
vi.mock("next/dynamic", () => ({ default: () => ({ markdown }: { markdown: string }) => <div data-testid="preview">{markdown}</div> }));

const draft: Draft = {
  id: "d1",
  title: "First title",
  content: "# Hello",
  sources: [{ document_id: "doc1", filename: "notes.md" }],
  tags: ["a"],
  status: "draft",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

function controlledSend() {
  const calls: { value: Parameters<SendUpdate>[1]; resolve: (d: Draft) => void; reject: (e: Error) => void }[] = [];
  const send: SendUpdate = (_id, value) => new Promise<Draft>((resolve, reject) => calls.push({ value, resolve, reject }));
  return { send, calls };
}

describe("DraftEditor", () => {
  beforeEach(() => vi.clearAllMocks());

  it("shows the live preview as the user types", () => {
    render(<DraftEditor initial={draft} send={controlledSend().send} />);
    fireEvent.change(screen.getByLabelText("Markdown"), { target: { value: "## Changed" } });
    expect(screen.getByTestId("preview").textContent).toBe("## Changed");
    expect(screen.getByTestId("save-state").textContent).toBe("Unsaved changes");
  });

  it("saves optimistically and confirms with the server's copy", async () => {
    const { send, calls } = controlledSend();
    render(<DraftEditor initial={draft} send={send} />);
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "New title" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.getByTestId("save-state").textContent).toBe("Saving…"));
    expect(calls[0]?.value).toEqual({ title: "New title", content: "# Hello", status: "draft", tags: ["a"] });
    await act(async () => calls[0]!.resolve({ ...draft, title: "New title" }));
    expect(screen.getByTestId("save-state").textContent).toBe("All changes saved");
  });

  it("rolls back on failure, keeps the edits, and retries with the same content", async () => {
    const { send, calls } = controlledSend();
    render(<DraftEditor initial={draft} send={send} />);
    fireEvent.change(screen.getByLabelText("Markdown"), { target: { value: "kept edit" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(calls).toHaveLength(1));
    await act(async () => calls[0]!.reject(new Error("The server had a problem. Please try again.")));
    expect(screen.getByTestId("save-state").textContent).toBe("Save failed: The server had a problem. Please try again.");
    expect((screen.getByLabelText("Markdown") as HTMLTextAreaElement).value).toBe("kept edit");
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[1]?.value.content).toBe("kept edit");
    await act(async () => calls[1]!.resolve({ ...draft, content: "kept edit" }));
    expect(screen.getByTestId("save-state").textContent).toBe("All changes saved");
  });

  it("validates the title before sending and saves on Ctrl+S", async () => {
    const { send, calls } = controlledSend();
    render(<DraftEditor initial={draft} send={send} />);
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "   " } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Title cannot be empty.")).toBeTruthy();
    expect(calls).toHaveLength(0);
    fireEvent.change(screen.getByLabelText("Title"), { target: { value: "Ok" } });
    fireEvent.keyDown(screen.getByLabelText("Title"), { key: "s", ctrlKey: true });
    await waitFor(() => expect(calls).toHaveLength(1));
  });
});
