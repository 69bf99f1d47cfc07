// End-to-end flow in a real browser: the real backend (embedded SQLite store) + the production build
// of the frontend (standalone server) + Debian's Chromium driven by playwright-core.
// Usage: npm run build && npm run e2e   (needs backend/.venv: cd backend && uv sync --locked)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { minimalPdf } from "./pdf.mjs";
import { a11yAudit, a11yViolations, AXE_SOURCE, blocking, writeA11yReport } from "./a11y.mjs";
import { freePort, startProcess, stopProcess, waitForHttp } from "./servers.mjs";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BACKEND = resolve(FRONTEND, "../backend");
const REPORTS = join(FRONTEND, "reports/e2e");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const FIRST_LOAD_BUDGET_KB = 150;
// DESIGN.md: without the background-networking flags Chromium hammers the closed network.
// Playwright adds --headless and a fresh temporary --user-data-dir itself.
const CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const results = [];
let aborted = false;

function summary() {
  const passed = results.filter((r) => r.ok).length;
  console.log(`e2e: ${passed} passed, ${results.length - passed} failed`);
  return results.length - passed;
}

function preflight() {
  const problems = [];
  if (!existsSync(join(BACKEND, ".venv/bin/uvicorn"))) problems.push(`backend virtualenv missing: run \`cd ${BACKEND} && uv sync --locked\` first`);
  if (!existsSync(join(FRONTEND, ".next/standalone/server.js"))) problems.push("production build missing: run `npm run build` in frontend/ first");
  if (!existsSync(CHROMIUM)) problems.push(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return problems;
}

async function main() {
  const problems = preflight();
  if (problems.length) {
    for (const problem of problems) console.error(`e2e setup: ${problem}`);
    results.push({ name: "setup", ok: false });
    return;
  }
  mkdirSync(REPORTS, { recursive: true });
  rmSync(join(REPORTS, "failure.png"), { force: true }); // only a failure of this run leaves one
  // Static assets beside the standalone server (as Next's docs require); idempotent.
  const { execFileSync } = await import("node:child_process");
  execFileSync(process.execPath, ["scripts/copy-static.mjs"], { cwd: FRONTEND, stdio: "inherit" });

  const work = mkdtempSync(join(tmpdir(), "bc-e2e-"));
  const [backendPort, frontendPort] = [await freePort(), await freePort()];
  const backendUrl = `http://127.0.0.1:${backendPort}`;
  const baseUrl = `http://127.0.0.1:${frontendPort}`;
  const cleanEnv = { ...process.env };
  for (const name of ["REDIS_URL", "ELASTICSEARCH_URL", "OPENAI_API_KEY", "API_URL", "NODE_OPTIONS"]) delete cleanEnv[name];

  let backend;
  let frontend;
  let browser;
  const stopAll = () => {
    for (const child of [frontend, backend]) {
      try {
        if (child && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  };
  process.once("exit", stopAll);
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => process.exit(130));

  try {
    backend = startProcess("backend", join(BACKEND, ".venv/bin/uvicorn"), ["app.main:app", "--host", "127.0.0.1", "--port", String(backendPort)], {
      cwd: BACKEND,
      logFile: join(REPORTS, "backend.log"),
      env: {
        ...cleanEnv,
        APP_ENV: "test",
        DATABASE_PATH: join(work, "e2e.sqlite3"),
        JWT_SECRET: randomBytes(32).toString("hex"),
        GENERATION_PROVIDER: "extractive",
        RATE_LIMIT_ENABLED: "false",
        RATE_LIMIT_AUTH_REQUESTS: "100000",
        RATE_LIMIT_GENERATE_REQUESTS: "100000",
        LOG_LEVEL: "INFO",
      },
    });
    frontend = startProcess("frontend", process.execPath, [join(FRONTEND, ".next/standalone/server.js")], {
      cwd: join(FRONTEND, ".next/standalone"),
      logFile: join(REPORTS, "frontend.log"),
      env: { ...cleanEnv, NODE_ENV: "production", PORT: String(frontendPort), HOSTNAME: "127.0.0.1", API_URL: backendUrl, NEXT_TELEMETRY_DISABLED: "1", MAX_REQUEST_BYTES: String(1024 * 1024) },
    });
    await Promise.all([waitForHttp(`${backendUrl}/healthz`, backend, 90_000), waitForHttp(`${baseUrl}/api/health`, frontend, 60_000)]);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    await runFlow({ browser, baseUrl, backendUrl });
  } catch (error) {
    console.error(`e2e setup failed: ${error.stack ?? error}`);
    results.push({ name: "setup", ok: false });
  } finally {
    await browser?.close().catch(() => {});
    await Promise.all([stopProcess(frontend), stopProcess(backend)]);
    rmSync(work, { recursive: true, force: true });
  }
}

async function runFlow({ browser, baseUrl, backendUrl }) {
  const context = await browser.newContext({ baseURL: baseUrl, acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(30_000);
  // axe-core in every page of the flow, injected by the browser (not a <script> tag, so the CSP under
  // test is untouched). audit() records the violations of the page as it is at that moment.
  await context.addInitScript({ content: AXE_SOURCE });
  const page = await context.newPage();
  const audits = [];
  const audit = async (label) => audits.push({ label, url: new URL(page.url()).pathname, ...(await a11yAudit(page)) });
  const pageProblems = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(`CSP: ${message.text()}`);
  });
  page.on("pageerror", (error) => pageProblems.push(`page error: ${error.message}`));

  const user = { name: "E2E Writer", email: `e2e-${Date.now()}@example.com`, password: "correct horse battery" };
  const editedTitle = "Canary releases, explained by e2e";
  const addedLine = "This paragraph was typed in the browser by the e2e test.";
  let draftUrl = "";

  const step = async (name, fn) => {
    if (aborted) {
      results.push({ name, ok: false });
      console.log(`- not run: ${name}`);
      return;
    }
    const started = Date.now();
    try {
      await fn();
      results.push({ name, ok: true });
      console.log(`✔ ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      results.push({ name, ok: false });
      aborted = true;
      console.log(`✖ ${name}\n${error.stack ?? error}`);
      await page.screenshot({ path: join(REPORTS, "failure.png"), fullPage: true }).catch(() => {});
    }
  };

  await step("operations endpoints and security headers", async () => {
    const health = await fetch(`${baseUrl}/api/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    const ready = await fetch(`${baseUrl}/api/ready`, { headers: { "X-Request-ID": "e2e-ready-check" } });
    assert.equal(ready.status, 200, "frontend /api/ready must be 200 while the backend is ready");
    assert.equal(ready.headers.get("x-request-id"), "e2e-ready-check");
    const login = await fetch(`${baseUrl}/login`);
    const csp = login.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, `CSP must carry a nonce: ${csp}`);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(login.headers.get("x-content-type-options"), "nosniff");
    assert.ok(login.headers.get("referrer-policy"));
    assert.match(login.headers.get("permissions-policy") ?? "", /camera=\(\)/);
    assert.equal(login.headers.get("strict-transport-security"), null, "no HSTS over plain HTTP");
    const html = await login.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    assert.ok(scripts.length > 0);
    for (const tag of scripts) assert.ok(tag.includes(`nonce="${nonce}"`), `script without the nonce: ${tag}`);
    const https = await fetch(`${baseUrl}/api/health`, { headers: { "X-Forwarded-Proto": "https" } });
    assert.match(https.headers.get("strict-transport-security") ?? "", /max-age=/, "HSTS behind a TLS-terminating proxy");
  });

  await step("signed-out visitors are sent to /login", async () => {
    await page.goto("/documents");
    await page.waitForURL(/\/login\?next=%2Fdocuments$/);
    await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
    await audit("login");
    const api = await page.evaluate(async () => (await fetch("/api/bff/documents")).status);
    assert.equal(api, 401);
  });

  await step("register (with validation errors shown) ", async () => {
    await gotoReady(page, "/register");
    await page.getByLabel("Full name").fill(user.name);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Password must be at least 8 characters.").waitFor();
    await audit("register with a field error");
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/login\?registered=1$/);
    // A second registration with the same email shows the backend's readable reason.
    await gotoReady(page, "/register");
    await page.getByLabel("Full name").fill(user.name);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    const alert = page.locator(".alert.error");
    await alert.waitFor();
    const text = await alert.innerText();
    assert.ok(text.length > 5 && !/Traceback|Error:/.test(text), `readable error expected, got: ${text}`);
    await audit("register with the backend's error");
  });

  await step("login sets httpOnly SameSite=Lax cookies and opens the dashboard", async () => {
    await gotoReady(page, "/login");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".alert.error").waitFor();
    await audit("login with the backend's error");
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/dashboard$/);
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    assert.equal(await page.getByTestId("documents-count").innerText(), "0");
    await audit("dashboard, empty");
    const cookies = await context.cookies();
    for (const name of ["bc_access", "bc_refresh"]) {
      const cookie = cookies.find((c) => c.name === name);
      assert.ok(cookie, `${name} cookie set`);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, "Lax");
      assert.equal(cookie.secure, false, "not Secure over plain HTTP");
    }
    assert.equal(await page.evaluate(() => document.cookie), "", "tokens are invisible to scripts");
  });

  await step("upload a .md (file picker) and a .pdf (drag and drop) with per-file errors", async () => {
    await gotoReady(page, "/documents");
    const markdown = "# Deployment notes\n\nCanary rollouts shift a small share of traffic to the new version first.\n\nBlue-green deployments keep two environments and switch traffic at once.\n";
    await page.locator("#file-input").setInputFiles({ name: "deployment-notes.md", mimeType: "text/markdown", buffer: Buffer.from(markdown) });
    await page.locator('li[data-status="done"]', { hasText: "deployment-notes.md" }).waitFor();
    const pdf = minimalPdf(["Rollback strategy guide", "A canary release is promoted only when its metrics stay healthy.", "Otherwise the rollout is rolled back automatically."]);
    await dropFiles(page, [
      { name: "rollback-guide.pdf", type: "application/pdf", base64: pdf.toString("base64") },
      { name: "broken.pdf", type: "application/pdf", base64: Buffer.from("%PDF-1.4 not really a pdf").toString("base64") },
      { name: "picture.png", type: "image/png", base64: Buffer.from("png").toString("base64") },
    ]);
    await page.locator('li[data-status="done"]', { hasText: "rollback-guide.pdf" }).waitFor();
    await page.locator('li[data-status="error"]', { hasText: "picture.png: unsupported file type" }).waitFor();
    // Over the proxy's MAX_REQUEST_BYTES (1 MiB here): refused with a readable per-file error.
    await page.locator("#file-input").setInputFiles({ name: "huge.txt", mimeType: "text/plain", buffer: Buffer.alloc(1536 * 1024, "a") });
    await page.locator('li[data-status="error"]', { hasText: "huge.txt: The request is too large" }).waitFor();
    const broken = page.locator('li[data-status="error"]', { hasText: "broken.pdf" });
    await broken.waitFor();
    assert.match(await broken.innerText(), /broken\.pdf: .{5,}/);
    const table = page.locator("table");
    await table.getByRole("cell", { name: "deployment-notes.md", exact: true }).waitFor();
    await table.getByRole("cell", { name: "rollback-guide.pdf", exact: true }).waitFor();
    await audit("documents with uploads and per-file errors");
  });

  await step("search shows ranked snippets with highlights (X-Request-ID reaches the backend)", async () => {
    await page.getByLabel("Search query").fill("canary");
    await page.getByRole("button", { name: "Search" }).click();
    const results = page.getByRole("list", { name: "Search results" });
    await results.waitFor();
    assert.ok((await results.locator("li").count()) >= 2, "both documents mention canary");
    assert.equal((await results.locator("mark").first().innerText()).toLowerCase(), "canary");
    await audit("documents with search results");
    const status = await page.evaluate(async () => (await fetch("/api/bff/documents?limit=1", { headers: { "X-Request-ID": "e2e-trace-4711" } })).status);
    assert.equal(status, 200);
    await expectEventually(() => readFileSync(join(REPORTS, "backend.log"), "utf8").includes("e2e-trace-4711"), "backend log shows the forwarded X-Request-ID");
  });

  await step("generate a draft from both documents", async () => {
    await page.getByRole("link", { name: "Generate" }).click();
    await page.getByRole("heading", { name: "Generate a draft" }).waitFor();
    await page.getByRole("button", { name: "Generate draft" }).click();
    await page.getByText("Pick at least one document.").waitFor();
    await audit("generate with a field error");
    await page.getByLabel("deployment-notes.md").check();
    await page.getByLabel("rollback-guide.pdf").check();
    await page.getByLabel("Topic (optional)").fill("Safe deployments with canaries");
    await page.getByLabel("Tone").selectOption("friendly");
    await page.getByLabel("Length").selectOption("short");
    await page.getByRole("button", { name: "Generate draft" }).click();
    await page.waitForURL(/\/drafts\/[A-Za-z0-9_-]+$/, { timeout: 90_000 });
    draftUrl = new URL(page.url()).pathname;
    await page.getByLabel("Markdown").waitFor();
    assert.ok((await page.getByLabel("Markdown").inputValue()).length > 20, "generated content is not empty");
    await page.getByTestId("preview").locator("*").first().waitFor();
    await audit("draft editor");
  });

  await step("edit and save the draft (live preview), screenshot the editor", async () => {
    const original = await page.getByLabel("Markdown").inputValue();
    await page.getByLabel("Title").fill(editedTitle);
    await page.getByLabel("Markdown").fill(`${original}\n\n## Added by e2e\n\n${addedLine}\n`);
    await page.getByTestId("preview").getByRole("heading", { name: "Added by e2e" }).waitFor();
    assert.equal(await page.getByTestId("save-state").innerText(), "Unsaved changes");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByTestId("save-state").filter({ hasText: "All changes saved" }).waitFor();
    await page.screenshot({ path: join(REPORTS, "editor.png"), fullPage: true });
  });

  await step("reload shows the saved edit", async () => {
    await page.reload();
    await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
    assert.equal(await page.getByLabel("Title").inputValue(), editedTitle);
    assert.ok((await page.getByLabel("Markdown").inputValue()).includes(addedLine));
    await page.getByTestId("preview").getByText(addedLine).waitFor();
  });

  await step("export downloads the Markdown with front matter", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export Markdown" }).click()]);
    assert.match(download.suggestedFilename(), /\.md$/);
    const text = readFileSync(await download.path(), "utf8");
    assert.ok(text.startsWith("---\n"), "Jekyll front matter first");
    assert.ok(text.includes(editedTitle), "exported title is the edited one");
    assert.ok(text.includes(addedLine), "exported body has the edit");
    writeFileSync(join(REPORTS, download.suggestedFilename()), text);
  });

  await step("an expired access token is refreshed transparently", async () => {
    const before = (await context.cookies()).find((c) => c.name === "bc_refresh")?.value;
    await context.clearCookies({ name: "bc_access" });
    await page.goto("/drafts");
    await page.getByRole("heading", { name: "Drafts" }).waitFor();
    await page.getByRole("link", { name: editedTitle }).waitFor();
    await audit("drafts list");
    const cookies = await context.cookies();
    assert.ok(cookies.find((c) => c.name === "bc_access")?.value, "a new access token was set");
    assert.notEqual(cookies.find((c) => c.name === "bc_refresh")?.value, before, "the refresh token was rotated");
    // The same works for API calls made from the page.
    await context.clearCookies({ name: "bc_access" });
    assert.equal(await page.evaluate(async () => (await fetch("/api/bff/drafts")).status), 200);
  });

  await step("create an API key (shown once), use it, revoke it", async () => {
    await gotoReady(page, "/settings");
    await page.getByLabel("Key name").fill("e2e-script");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.getByTestId("new-key").locator("code").innerText()).trim();
    assert.ok(key.length >= 16, "the new key is shown");
    await page.getByRole("cell", { name: "e2e-script", exact: true }).waitFor();
    await audit("settings with a new API key");
    const withKey = await fetch(`${backendUrl}/api/v1/auth/me`, { headers: { "X-API-Key": key } });
    assert.equal(withKey.status, 200, "the key authenticates against the backend");
    await page.getByRole("button", { name: "Revoke e2e-script" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).waitFor();
    await audit("settings with the confirm dialog open");
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await page.getByRole("cell", { name: "e2e-script", exact: true }).waitFor({ state: "detached" });
    const revoked = await fetch(`${backendUrl}/api/v1/auth/me`, { headers: { "X-API-Key": key } });
    assert.equal(revoked.status, 401, "the revoked key is refused");
  });

  await step("first-load JS per route stays within budget", async () => {
    const routes = ["/dashboard", "/documents", "/generate", "/drafts", draftUrl, "/settings"];
    const sizes = {};
    for (const route of routes) sizes[route === draftUrl ? "/drafts/[id]" : route] = await measureJs(browser, context, baseUrl, route);
    sizes["/login"] = await measureJs(browser, null, baseUrl, "/login");
    writeFileSync(join(REPORTS, "first-load-js.json"), `${JSON.stringify(sizes, null, 2)}\n`);
    for (const [route, kb] of Object.entries(sizes)) console.log(`  JS ${route}: first load ${kb.firstLoad} kB, all ${kb.all} kB (gzipped)`);
    const over = Object.entries(sizes).filter(([, kb]) => kb.firstLoad > FIRST_LOAD_BUDGET_KB);
    assert.deepEqual(over, [], `routes over ${FIRST_LOAD_BUDGET_KB} kB first-load JS`);
  });

  await step("logout clears the session", async () => {
    await gotoReady(page, "/dashboard");
    await page.getByTestId("documents-count").waitFor();
    await audit("dashboard with documents and drafts");
    await gotoReady(page, "/no-such-page");
    await audit("not found");
    await gotoReady(page, "/dashboard");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login$/);
    const names = (await context.cookies()).map((c) => c.name);
    assert.ok(!names.includes("bc_access") && !names.includes("bc_refresh"), `cookies left: ${names}`);
    await page.goto("/dashboard");
    await page.waitForURL(/\/login\?next=%2Fdashboard$/);
  });

  await step("delete account (after a data export) erases the user", async () => {
    const other = { email: `e2e-delete-${Date.now()}@example.com`, password: "another long password" };
    const registered = await fetch(`${baseUrl}/api/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ full_name: "To Delete", ...other }),
    });
    assert.equal(registered.status, 201);
    await gotoReady(page, "/login");
    await page.getByLabel("Email").fill(other.email);
    await page.getByLabel("Password").fill(other.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/dashboard$/);
    await gotoReady(page, "/settings");
    const exported = await page.evaluate(async () => (await fetch("/api/bff/auth/me/export")).json());
    assert.equal(exported.user.email, other.email);
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete everything" }).waitFor();
    await audit("settings with the delete-account dialog open");
    await page.getByRole("dialog").getByRole("button", { name: "Delete everything" }).click();
    await page.waitForURL(/\/register$/);
    const login = await fetch(`${backendUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(other),
    });
    assert.equal(login.status, 401, "the deleted user can no longer sign in");
  });

  await step("no CSP violations or page errors", async () => {
    assert.deepEqual(pageProblems, []);
  });

  await step("accessibility (axe-core): 0 serious or critical violations on every page", async () => {
    writeA11yReport(join(REPORTS, "axe.json"), audits);
    const pages = new Set(audits.map((entry) => entry.url.replace(/\/drafts\/[^/]+$/, "/drafts/[id]")));
    const counts = audits.flatMap((entry) => entry.violations).reduce((acc, v) => ({ ...acc, [v.impact]: (acc[v.impact] ?? 0) + 1 }), {});
    const passed = audits.map((entry) => entry.passed);
    console.log(`  axe: ${audits.length} states of ${pages.size} pages audited (${Math.min(...passed)}-${Math.max(...passed)} rules passed each); violations by impact: ${JSON.stringify(counts)}`);
    const failing = audits.flatMap((entry) => blocking(entry.violations).map((v) => `${entry.label} (${entry.url}): ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(", ")}`));
    assert.deepEqual(failing, [], "serious or critical accessibility violations (details in reports/e2e/axe.json)");
    for (const route of ["/login", "/register", "/dashboard", "/documents", "/generate", "/drafts", "/drafts/[id]", "/settings", "/no-such-page"]) {
      assert.ok(pages.has(route), `page ${route} was audited`);
    }
    // Control: the same audit on this page with two known faults added must report both.
    await page.evaluate(() => {
      const control = document.createElement("div");
      control.id = "axe-control";
      const faint = document.createElement("p");
      faint.textContent = "faint text";
      // Through the CSSOM: the page's CSP (rightly) refuses inline style attributes.
      Object.assign(faint.style, { color: "#c8c8c8", background: "#ffffff" });
      control.append(document.createElement("input"), faint);
      document.body.append(control);
    });
    const control = blocking(await a11yViolations(page)).map((v) => `${v.impact} ${v.id}`);
    await page.evaluate(() => document.getElementById("axe-control")?.remove());
    assert.ok(control.includes("critical label") && control.includes("serious color-contrast"), `axe must catch the control faults: ${control}`);
  });
  await context.close();
}

/** Navigates and waits until React has hydrated the page (so no early interaction is lost). */
async function gotoReady(page, url) {
  await page.goto(url);
  await page.locator("html[data-hydrated]").waitFor({ state: "attached" });
}

/** Fires a real drop event carrying files on the upload zone (what a user's drag and drop does). */
async function dropFiles(page, files) {
  await page.getByTestId("dropzone").evaluate((zone, items) => {
    const transfer = new DataTransfer();
    for (const item of items) {
      const bytes = Uint8Array.from(atob(item.base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], item.name, { type: item.type }));
    }
    zone.dispatchEvent(new DragEvent("dragover", { bubbles: true, cancelable: true, dataTransfer: transfer }));
    zone.dispatchEvent(new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }, files);
}

/**
 * Gzipped JavaScript for `route` in a fresh (cold-cache) context: `firstLoad` counts the scripts the
 * server's HTML references (what Next calls First Load JS); `all` adds what loads later, such as the
 * editor's lazily imported Markdown preview.
 */
async function measureJs(browser, signedInContext, baseUrl, route) {
  const context = await browser.newContext({ baseURL: baseUrl });
  if (signedInContext) await context.addCookies(await signedInContext.cookies());
  const page = await context.newPage();
  const loaded = new Set();
  page.on("response", (response) => {
    if (response.request().resourceType() === "script") loaded.add(new URL(response.url()).pathname);
  });
  await page.goto(route, { waitUntil: "networkidle" });
  const html = await (await context.request.get(route)).text();
  // noModule scripts (legacy-browser polyfills) are never loaded by a modern browser.
  const tags = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]).filter((tag) => !/\snomodule/i.test(tag));
  const initial = new Set(tags.flatMap((tag) => /\ssrc="([^"]+)"/.exec(tag)?.[1] ?? []).map((src) => new URL(src, baseUrl).pathname));
  const gzipKb = async (paths) => {
    let bytes = 0;
    for (const path of paths) bytes += gzipSync(Buffer.from(await (await fetch(new URL(path, baseUrl))).arrayBuffer()), { level: 9 }).length;
    return Math.round((bytes / 1024) * 10) / 10;
  };
  const result = { firstLoad: await gzipKb(initial), all: await gzipKb(new Set([...initial, ...loaded])) };
  await context.close();
  return result;
}

async function expectEventually(predicate, message, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(message);
}

const started = Date.now();
await main();
console.log(`e2e finished in ${((Date.now() - started) / 1000).toFixed(1)} s; artifacts in ${REPORTS}`);
process.exitCode = summary() > 0 ? 1 : 0;
