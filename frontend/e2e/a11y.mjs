// Accessibility audit with axe-core (Deque's engine), run inside the page by the e2e flow.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

/** axe.min.js, handed to the browser as an init script (so the page's CSP does not apply to it). */
export const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

// WCAG 2.0-2.2 A and AA plus axe's best practices; the gate is on the two worst impact levels.
const RUN_OPTIONS = { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] }, resultTypes: ["violations"] };
const BLOCKING = new Set(["serious", "critical"]);

/**
 * Audits the page as it is now: `violations` [{id, impact, help, nodes: [css selector]}], and the
 * number of rules that `passed` or came out `incomplete` (axe could not decide; not gated).
 */
export async function a11yAudit(page) {
  return page.evaluate(async (options) => {
    const result = await window.axe.run(document, options);
    const violations = result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.map((n) => n.target.join(" ")) }));
    return { violations, passed: result.passes.length, incomplete: result.incomplete.map((r) => r.id) };
  }, RUN_OPTIONS);
}

export async function a11yViolations(page) {
  return (await a11yAudit(page)).violations;
}

export function blocking(violations) {
  return violations.filter((v) => BLOCKING.has(v.impact));
}

export function writeA11yReport(path, audits) {
  writeFileSync(path, `${JSON.stringify(audits, null, 2)}\n`);
}
