import { act, fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/errors";
import UploadZone from "./UploadZone";

const refresh = vi.fn();
vi.mock("next/navigation", () => ({ useRouter: () => ({ push: vi.fn(), refresh }) }));

function file(name: string, body = "hello") {
  return new File([body], name, { type: "text/plain" });
}

describe("UploadZone", () => {
  it("uploads dropped files with progress and shows a per-file error", async () => {
    const upload = vi.fn(async (_url: string, f: File, onProgress: (fraction: number) => void) => {
      onProgress(0.5);
      if (f.name === "broken.pdf") throw new ApiError(422, "The PDF is corrupt or has no text.");
      return { id: "x" };
    });
    render(<UploadZone upload={upload as never} />);
    await act(async () => {
      fireEvent.drop(screen.getByTestId("dropzone"), { dataTransfer: { files: [file("notes.md"), file("image.png"), file("broken.pdf")] } });
    });
    const rows = screen.getAllByRole("listitem");
    expect(rows.map((row) => row.getAttribute("data-status"))).toEqual(["done", "error", "error"]);
    expect(rows[0]!.textContent).toContain("Uploaded");
    expect(rows[1]!.textContent).toContain("image.png: unsupported file type");
    expect(rows[2]!.textContent).toContain("broken.pdf: The PDF is corrupt or has no text.");
    expect(upload).toHaveBeenCalledTimes(2); // the .png never leaves the browser
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});
