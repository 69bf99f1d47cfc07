import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Snippet } from "./SearchPanel";

describe("Snippet", () => {
  it("renders highlights as <mark> and backend text only as text", () => {
    const { container } = render(<Snippet html={'&lt;img src=x onerror=alert(1)&gt; about <mark>canary</mark> rollouts'} />);
    expect(container.querySelectorAll("mark")).toHaveLength(1);
    expect(container.querySelector("mark")?.textContent).toBe("canary");
    expect(container.querySelector("img")).toBeNull();
    expect(container.textContent).toBe("<img src=x onerror=alert(1)> about canary rollouts");
  });
});
