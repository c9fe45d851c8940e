// The application pages (docs/console.md, "Tokens and applications"): create with the client
// secret shown once, detail with the application's tokens, edit, delete.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_PASSWORD, checkPage, launch, login, newPage, startServer } from "../lib/harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an application is created, its secret shown once and usable, then edited and deleted", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD, "/console/applications/");
  await page.getByRole("heading", { name: "Applications" }).waitFor();
  await checkPage(page, "applications-empty");

  await page.getByRole("link", { name: "New application" }).click();
  await page.getByRole("heading", { name: "New application" }).waitFor();
  await checkPage(page, "application-form");
  // A fresh page: axe leaves empty style attributes behind, which htmx's settle step would
  // copy onto the swapped-in fields with the same ids (a CSP report that is axe's, not ours).
  await page.reload();

  // The service's validation, next to the fields.
  await page.getByLabel("Name").fill("ci");
  await page.getByLabel("Redirect URIs").fill("ftp://files.example/");
  await page.getByRole("button", { name: "Create application" }).click();
  await page.locator("#redirect_uris-error").filter({ hasText: "Unauthorized redirect scheme" }).waitFor();
  assert.equal(await page.getByLabel("Redirect URIs").getAttribute("aria-invalid"), "true");
  await checkPage(page, "application-form-errors");

  await page.getByLabel("Redirect URIs").fill("");
  await page.getByLabel("Client type").selectOption("confidential");
  await page.getByLabel("Authorization grant type").selectOption("password");
  await page.getByRole("button", { name: "Create application" }).click();
  await page.getByRole("heading", { name: "Application created" }).waitFor();
  const secret = (await page.locator("code.secret#client-secret").textContent()).trim();
  const clientId = (await page.locator("#client-id").textContent()).trim();
  await page.locator(".warning").filter({ hasText: "will not be shown again" }).waitFor();
  await checkPage(page, "application-created");

  // The secret authenticates the client: a password grant through it.
  const r = await fetch(`${server.base}/api/o/token/`, {
    method: "POST",
    headers: {
      Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "password", username: "admin", password: ADMIN_PASSWORD }).toString(),
  });
  assert.equal(r.status, 200, await r.text());

  // The answer was swapped into the form's page: a reload shows a blank form, not the secret.
  assert.match(page.url(), /\/console\/applications\/new\/$/);
  await page.reload();
  await page.getByRole("heading", { name: "New application" }).waitFor();
  assert.ok(!(await page.content()).includes(secret));

  await page.goto(`${server.base}/console/applications/`);
  assert.ok(!(await page.content()).includes(secret));
  await checkPage(page, "applications-list");
  await page.getByRole("link", { name: "ci", exact: true }).click();
  await page.getByRole("heading", { name: "ci" }).waitFor();
  assert.ok(!(await page.content()).includes(secret));
  // The token the grant issued is listed under the application.
  assert.equal(await page.locator("#tokens tbody tr").count(), 1);
  await checkPage(page, "application-detail");

  await page.getByRole("link", { name: "Edit" }).click();
  await page.getByRole("heading", { name: "Edit application" }).waitFor();
  await checkPage(page, "application-edit");
  await page.getByLabel("Description").fill("build robot");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "ci" }).waitFor();
  await page.getByText("build robot").waitFor();

  page.once("dialog", (d) => d.accept());
  await Promise.all([page.waitForURL(/\/console\/applications\/$/), page.getByRole("button", { name: "Delete application" }).click()]);
  await page.getByText("No applications yet.").waitFor();
});
