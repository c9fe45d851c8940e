// The Users pages and the profile page (docs/console.md, "Users and profile").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_PASSWORD, api, checkPage, launch, login, newPage, startServer } from "../lib/harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
  const r = await api(server.base, "POST", "/api/v2/users/", { body: { username: "nora", password: "nora-password-1" } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an administrator creates a user through the form, finds it in the list and opens it", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/users\/$/), page.getByRole("link", { name: "Users", exact: true }).click()]);
  await page.getByRole("heading", { name: "Users" }).waitFor();
  await checkPage(page, "users-list");

  await Promise.all([page.waitForURL(/\/console\/users\/new\/$/), page.getByRole("link", { name: "New user" }).click()]);
  await checkPage(page, "users-new");

  // First a form the service refuses: the messages appear next to their fields.
  await page.getByLabel("Username").fill("wendy");
  await page.getByLabel("Email").fill("not-an-address");
  await page.getByLabel("Password").fill("short");
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Create user" }).click()]);
  await page.locator("#email-error").filter({ hasText: "Enter a valid email address." }).waitFor();
  assert.equal(await page.getByLabel("Email").getAttribute("aria-invalid"), "true");
  assert.equal(await page.getByLabel("Username").inputValue(), "wendy");
  assert.equal(await page.getByLabel("Password").inputValue(), "", "a password is never sent back");
  await checkPage(page, "users-new-errors");

  await page.getByLabel("First name").fill("Wendy");
  await page.getByLabel("Last name").fill("Darling");
  await page.getByLabel("Email").fill("wendy@example.com");
  await page.getByLabel("Password").fill("wendy-password-1");
  await Promise.all([page.waitForURL(/\/console\/users\/\d+\/\?done=created$/), page.getByRole("button", { name: "Create user" }).click()]);
  await page.getByText("The user was created.").waitFor();
  await page.getByRole("heading", { name: "User wendy" }).waitFor();
  await checkPage(page, "users-detail");

  // The list shows the new user; the search box narrows it in place (htmx).
  await page.goto(`${server.base}/console/users/`);
  await page.getByRole("link", { name: "wendy" }).waitFor();
  await page.getByLabel("Search users").fill("darling");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("1 user · page 1 of 1").waitFor();
  assert.equal(await page.getByRole("link", { name: "nora" }).count(), 0);
  await page.getByRole("link", { name: "wendy" }).waitFor();
  assert.match(page.url(), /search=darling/);
  await checkPage(page, "users-list-search");

  // The created user can log in.
  const r = await api(server.base, "GET", "/api/v2/me/", { user: "wendy", password: "wendy-password-1" });
  assert.equal(r.status, 200, r.text);
});

test("an administrator resets a password and deactivates a user", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  const users = await api(server.base, "GET", "/api/v2/users/?username=nora");
  const id = users.json.results[0].id;
  await page.goto(`${server.base}/console/users/${id}/`);
  await page.getByLabel("New password", { exact: true }).fill("nora-password-2");
  await page.getByLabel("Confirm new password").fill("nora-password-2");
  await Promise.all([page.waitForURL(/done=password$/), page.getByRole("button", { name: "Set password" }).click()]);
  assert.equal((await api(server.base, "GET", "/api/v2/me/", { user: "nora", password: "nora-password-2" })).status, 200);

  page.once("dialog", (d) => d.accept());
  await Promise.all([page.waitForURL(/done=deactivated$/), page.getByRole("button", { name: "Deactivate" }).click()]);
  await page.getByRole("button", { name: "Reactivate" }).waitFor();
  await checkPage(page, "users-detail-deactivated");
  assert.equal((await api(server.base, "GET", "/api/v2/me/", { user: "nora", password: "nora-password-2" })).status, 401);
  await Promise.all([page.waitForURL(/done=reactivated$/), page.getByRole("button", { name: "Reactivate" }).click()]);
  assert.equal((await api(server.base, "GET", "/api/v2/me/", { user: "nora", password: "nora-password-2" })).status, 200);
});

test("the profile page changes one's own password and stays signed in", async () => {
  const r = await api(server.base, "POST", "/api/v2/users/", { body: { username: "pia", password: "pia-password-1" } });
  assert.equal(r.status, 201, r.text);
  const page = await newPage(browser);
  await login(page, server.base, "pia", "pia-password-1");
  await Promise.all([page.waitForURL(/\/console\/profile\/$/), page.getByRole("link", { name: "pia" }).click()]);
  await page.getByRole("heading", { name: "Your profile" }).waitFor();
  await checkPage(page, "profile");
  await page.getByLabel("New password", { exact: true }).fill("pia-password-2");
  await page.getByLabel("Confirm new password").fill("pia-password-2");
  await Promise.all([page.waitForURL(/done=password$/), page.getByRole("button", { name: "Change password" }).click()]);
  await page.getByText("Your password was changed.").waitFor();
  const me = await page.evaluate(async () => (await fetch("/api/v2/me/")).json());
  assert.equal(me.results[0].username, "pia");
});

test("a normal user gets 403 on the Users pages and sees no link to them", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "pia", "pia-password-2");
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  assert.equal(await page.getByRole("link", { name: "Users", exact: true }).count(), 0);
  const resp = await page.goto(`${server.base}/console/users/`);
  assert.equal(resp.status(), 403);
  await page.getByText("You do not have permission to do this.").waitFor();
  await checkPage(page, "users-forbidden");
});
