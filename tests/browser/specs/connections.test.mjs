// The "API connections" pages and the per-customer MDR administrator role (docs/console.md,
// "API connections"; docs/mdr-api.md, "MDR administrators", "Token exchange").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_PASSWORD, api, checkPage, launch, login, newPage, startServer } from "../lib/harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
  const r = await api(server.base, "POST", "/api/v2/users/", { body: { username: "mona", password: "mona-password-1" } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** What an integration does with the refresh token: exchange it at session/confirm. */
async function confirm(clientId, refreshToken) {
  const r = await fetch(`${server.base}/api/v1/${clientId}/session/confirm`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

test("a superuser creates a connection, hands over its token, and revokes it", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await page.getByRole("link", { name: "API connections" }).click();
  await page.getByRole("heading", { name: "API connections" }).waitFor();
  await checkPage(page, "connections-list");

  await page.getByLabel("Name").fill("Acme Corp");
  await Promise.all([page.waitForURL(/\/console\/connections\/[0-9a-f]{32}\/$/), page.getByRole("button", { name: "Create customer" }).click()]);
  const customerUrl = page.url();
  await page.getByRole("heading", { name: "Acme Corp" }).waitFor();

  await page.getByLabel("New tenant").fill("Berlin");
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Add tenant" }).click()]);
  await page.getByRole("cell", { name: "Berlin" }).waitFor();

  await page.getByLabel("Name", { exact: true }).fill("SIEM export");
  await page.getByLabel("Role").selectOption("Security Officer");
  await page.getByLabel("Berlin").check();
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Create connection" }).click()]);
  await page.locator(".status.pending").filter({ hasText: "Pending activation" }).waitFor();
  await checkPage(page, "connections-customer");

  // Refresh: the token is shown once, with the Client ID to hand over.
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Refresh SIEM export" }).click()]);
  await page.locator(".warning").filter({ hasText: "will not be shown again" }).waitFor();
  const token = (await page.locator("#refresh-token").textContent()).trim();
  const clientId = (await page.locator("#token-client-id").textContent()).trim();
  assert.match(clientId, /^[0-9a-f]{32}$/);
  assert.ok(customerUrl.includes(clientId));
  assert.equal(token.split(".").length, 3, "a JWT");
  await page.getByRole("button", { name: "Copy token" }).waitFor();
  await page.getByRole("button", { name: "Copy Client ID" }).waitFor();
  await checkPage(page, "connections-token");

  const pair = await confirm(clientId, token);
  assert.equal(pair.status, 200, pair.text);
  await page.goto(customerUrl);
  await page.locator(".status.active").filter({ hasText: "Active" }).waitFor();
  assert.equal(await page.locator("#refresh-token").count(), 0, "the token is not shown again");
  await page.getByRole("cell", { name: "ok", exact: true }).waitFor();
  await checkPage(page, "connections-active");

  // Revoke asks first, then every token of the connection is dead.
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Revoke SIEM export" }).click();
  await page.locator(".status.pending").filter({ hasText: "Pending activation" }).waitFor();
  const refused = await confirm(clientId, pair.json.refresh_token);
  assert.notEqual(refused.status, 200, refused.text);
  assert.match(refused.text, /revoked/);
});

test("an MDR administrator of one customer cannot see another", async () => {
  const a = await api(server.base, "POST", "/console/api/mdr/customers", { body: { name: "Customer A" } });
  const b = await api(server.base, "POST", "/console/api/mdr/customers", { body: { name: "Customer B" } });
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  const grant = await api(server.base, "POST", `/console/api/mdr/customers/${a.json.client_id}/administrators`, { body: { username: "mona" } });
  assert.equal(grant.status, 201, grant.text);

  const page = await newPage(browser);
  await login(page, server.base, "mona", "mona-password-1");
  await page.getByRole("link", { name: "API connections" }).click();
  await page.getByRole("link", { name: "Customer A" }).waitFor();
  assert.equal(await page.getByText("Customer B").count(), 0);
  assert.equal(await page.getByRole("button", { name: "Create customer" }).count(), 0);
  await checkPage(page, "connections-mdr-administrator");

  await page.getByRole("link", { name: "Customer A" }).click();
  await page.getByRole("heading", { name: "Customer A" }).waitFor();
  assert.equal(await page.getByRole("heading", { name: "MDR administrators" }).count(), 0);
  await checkPage(page, "connections-customer-mdr-administrator");

  const denied = await page.goto(`${server.base}/console/connections/${b.json.client_id}/`);
  assert.equal(denied.status(), 403);
  await checkPage(page, "connections-forbidden");
});
