// The browser tests' harness (docs/console.md, "Browser tests"): a real `portcullis` binary
// on 127.0.0.1 with a fresh SQLite database, Debian's Chromium driven by playwright-core (no
// browser is ever downloaded), axe-core on every page, a screenshot of every page, and a
// check that no page breaks its Content-Security-Policy or scrolls sideways at phone width.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..", "..");
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** The superuser's password in every test server. */
export const ADMIN_PASSWORD = "browser-admin-password";

/** Where screenshots go: docs/screenshots with UPDATE_SCREENSHOTS=1, else target/screenshots. */
const shots = process.env.UPDATE_SCREENSHOTS
  ? join(root, "docs", "screenshots")
  : join(root, "target", "screenshots");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts the server binary (PORTCULLIS_BIN, default target/debug/portcullis) on a free
 * loopback port with a fresh database. `env` adds configuration.
 */
export async function startServer(env = {}) {
  const bin = process.env.PORTCULLIS_BIN || join(root, "target", "debug", "portcullis");
  const work = mkdtempSync(join(tmpdir(), "portcullis-browser-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = "";
  const child = spawn(bin, ["serve"], {
    env: {
      ...process.env,
      PORTCULLIS_DATABASE_URL: `sqlite:${join(work, "portcullis.db")}`,
      PORTCULLIS_LISTEN: `127.0.0.1:${port}`,
      PORTCULLIS_PUBLIC_URL: base,
      PORTCULLIS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PORTCULLIS_LOG: process.env.PORTCULLIS_LOG || "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  let exited = false;
  child.on("exit", () => { exited = true; });
  for (let i = 0; i < 200; i++) {
    if (exited) { throw new Error(`server exited:\n${log}`); }
    try {
      const r = await fetch(`${base}/api/v2/ping/`);
      if (r.ok) { break; }
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    log: () => log,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless (CHROMIUM overrides the path). */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/**
 * A new page that records Content-Security-Policy violations and script errors; `check()`
 * fails the test if any happened.
 */
export async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to (execute|apply|load)/i.test(t)) { problems.push(t); }
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.problems = problems;
  return page;
}

/** Logs in through the console's form and waits for the page behind it. */
export async function login(page, base, username, password, next = null) {
  const url = next ? `${base}/console/login/?next=${encodeURIComponent(next)}` : `${base}/console/login/`;
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Log in" }).click()]);
}

/** Runs axe-core on the page; fails on serious or critical violations. */
export async function axe(page, name) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern: the page
  // itself still runs under its CSP (no inline script is injected into it).
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `axe found serious or critical violations on ${name}: ${JSON.stringify(bad, null, 2)}`);
}

/** No sideways scrolling at the page's current width. */
export async function fitsWidth(page, name) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${name} scrolls sideways: ${scroll} > ${width}`);
}

/**
 * The checks every page gets: axe, no CSP violation or script error, a screenshot (desktop),
 * and at 390 px no sideways scrolling (plus a phone screenshot).
 */
export async function checkPage(page, name) {
  await axe(page, name);
  assert.deepEqual(page.problems, [], `${name}: CSP violations or script errors`);
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await fitsWidth(page, name);
  await page.screenshot({ path: join(shots, `${name}-phone.png`), fullPage: false });
  await page.setViewportSize(size);
  // Playwright's screenshots hide the caret with an inline style on text inputs and leave an
  // empty `style` attribute behind; htmx's settle step would copy it onto swapped-in elements
  // with the same id, which the CSP then reports. Remove it so later swaps are judged on the
  // console's own markup.
  await page.evaluate(() => {
    for (const el of document.querySelectorAll('[style=""]')) { el.removeAttribute("style"); }
  });
}

/** A JSON API call with HTTP Basic. */
export async function api(base, method, path, { user = "admin", password = ADMIN_PASSWORD, body, headers = {} } = {}) {
  const h = { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`, ...headers };
  if (body !== undefined) { h["Content-Type"] = "application/json"; }
  const r = await fetch(`${base}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}
