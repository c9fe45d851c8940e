// Signing in and out of the console, and the overview (docs/console.md, "Signing in").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_PASSWORD, api, checkPage, launch, login, newPage, startServer } from "../lib/harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
  const r = await api(server.base, "POST", "/api/v2/users/", { body: { username: "carol", password: "carol-password-1" } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the login page passes the page checks", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/console/`);
  // Anonymous: sent to the login page with the asked-for page as next.
  assert.match(page.url(), /\/console\/login\/\?next=%2Fconsole%2F$/);
  await checkPage(page, "login");
});

test("a wrong password says so and keeps the username", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", "not-the-password");
  await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "correct username and password" }).waitFor());
  assert.equal(await page.getByLabel("Username").inputValue(), "admin");
  await checkPage(page, "login-wrong-password");
});

test("login goes back to the page that was asked for, and the session works for the API", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/console/?page=1`);
  assert.match(page.url(), /next=%2Fconsole%2F%3Fpage%3D1/);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/\?page=1$/), page.getByRole("button", { name: "Log in" }).click()]);
  // The same session logs the browser into the AWX API.
  const me = await page.evaluate(async () => (await fetch("/api/v2/me/")).json());
  assert.equal(me.results[0].username, "admin");
});

test("an off-site next is ignored", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD, "//evil.example/x");
  assert.equal(new URL(page.url()).pathname, "/console/");
});

test("the overview shows counts and recent activity", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  const users = await page.locator(".tile").filter({ hasText: "users" }).locator(".count").textContent();
  assert.equal(users.trim(), "2");
  await page.getByRole("heading", { name: "Recent activity" }).waitFor();
  // Times are shown in local time with the UTC instant on hover.
  const title = await page.locator("time").first().getAttribute("title");
  assert.match(title, /UTC$/);
  await checkPage(page, "overview");
});

test("logout ends the session for the console and the API", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/logged_out=1/), page.getByRole("button", { name: "Log out" }).click()]);
  await page.getByText("You have been logged out.").waitFor();
  const status = await page.evaluate(async () => (await fetch("/api/v2/me/")).status);
  assert.equal(status, 401);
  await page.goto(`${server.base}/console/`);
  assert.match(page.url(), /\/console\/login\//);
});

test("an expired session is named on the login page", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "carol", "carol-password-1");
  // The administrator ends carol's sessions: her cookie now names no live session.
  const users = await api(server.base, "GET", "/api/v2/users/?username=carol");
  const id = users.json.results[0].id;
  const r = await api(server.base, "PATCH", `/api/v2/users/${id}/`, { body: { password: "carol-password-2" } });
  assert.equal(r.status, 200, r.text);
  await page.goto(`${server.base}/console/`);
  await page.getByText("Your session has expired").waitFor();
});

test("a locked account is told when to retry", async () => {
  const page = await newPage(browser);
  for (let i = 0; i < 12; i++) {
    await login(page, server.base, "carol", `wrong-${i}`);
    if (await page.getByText("Try again in").count()) { break; }
  }
  await page.getByRole("alert").filter({ hasText: "Try again in" }).waitFor();
  await checkPage(page, "login-locked");
});

test("the login works from the keyboard alone, with a visible focus ring", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/console/login/`);
  // The username field has focus on load (autofocus); Tab moves to the password, Enter submits.
  // Chromium applies `autofocus` at its next rendering step, which may come after the load
  // event `goto` waits for: wait for the focus to land rather than read it once.
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "username");
  assert.equal(await page.evaluate(() => document.activeElement.id), "username");
  await page.keyboard.type("admin");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "password");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "focused field shows no focus ring");
  await page.keyboard.type(ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/$/), page.keyboard.press("Enter")]);
  // The first Tab on a console page reaches the skip link, which is then visible.
  await page.keyboard.press("Tab");
  const skip = await page.evaluate(() => ({ text: document.activeElement.textContent, left: document.activeElement.getBoundingClientRect().left }));
  assert.equal(skip.text, "Skip to content");
  assert.ok(skip.left >= 0, "skip link stays off-screen when focused");
});

test("an htmx request that fails shows its message in place, not a blank page", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await page.goto(`${server.base}/console/tokens/`);
  await page.getByRole("heading", { name: "My tokens" }).waitFor();
  // A token that no longer matches the cookie (as after a logout in another tab): the
  // server refuses the htmx post with 403, and the page shows why where the user is.
  await page.evaluate(() => {
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": "x".repeat(64) }));
    for (const f of document.querySelectorAll('input[name="csrfmiddlewaretoken"]')) { f.value = "x".repeat(64); }
  });
  await page.getByLabel("Description").fill("never made");
  await page.getByRole("button", { name: "Create token" }).click();
  await page.locator("#flash .alert").filter({ hasText: "This form has expired" }).waitFor();
  // The page itself is still there.
  await page.getByRole("heading", { name: "My tokens" }).waitFor();
  assert.deepEqual(page.problems, []);
  const list = await api(server.base, "GET", "/api/v2/tokens/");
  assert.ok(!list.text.includes("never made"), "the refused request created a token");
});
