import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import Pagination from "./Pagination";

describe("Pagination", () => {
  it("links to neighbouring pages only where they exist", () => {
    render(<Pagination basePath="/documents" page={2} pageSize={10} total={25} />);
    expect(screen.getByText("Page 2 of 3")).toBeTruthy();
    expect(screen.getByRole("link", { name: "← Previous" }).getAttribute("href")).toBe("/documents?page=1");
    expect(screen.getByRole("link", { name: "Next →" }).getAttribute("href")).toBe("/documents?page=3");
  });
  it("has no link past the last page and renders nothing for a single page", () => {
    const { container, rerender } = render(<Pagination basePath="/drafts" page={3} pageSize={10} total={25} />);
    expect(screen.queryByRole("link", { name: "Next →" })).toBeNull();
    rerender(<Pagination basePath="/drafts" page={1} pageSize={10} total={5} />);
    expect(container.innerHTML).toBe("");
  });
});
