// The Settings page's LDAP section (docs/console.md, "Settings and activity"): Edit in place,
// a refused search filter shown next to its input, a save in AWX's shapes, the bind password
// never shown back, and "Test connection" against a server that is not there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { ADMIN_PASSWORD, api, checkPage, launch, login, newPage, startServer } from "../lib/harness.mjs";

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

/** A loopback port nothing listens on: bound, then released. */
async function closedPort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const BIND_PASSWORD = "browser-bind-Secret-91c2";

test("edit the LDAP server in place, save, and test the connection", async () => {
  const uri = `ldap://127.0.0.1:${await closedPort()}`;
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  const ldap = page.locator("#ldap");
  await page.getByRole("heading", { name: "LDAP", exact: true }).waitFor();
  assert.match(await ldap.locator("dl.view").textContent(), /Server URI\s*Not set/);

  await ldap.getByRole("link", { name: "Edit" }).click();
  await ldap.getByRole("button", { name: "Save" }).waitFor();
  // Swapped in by htmx: the address did not change.
  assert.equal(new URL(page.url()).search, "");
  const users = ldap.getByRole("group", { name: "User search" });
  await ldap.getByLabel("Server URI").fill(uri);
  await ldap.getByLabel("Bind DN").fill("cn=svc,dc=example,dc=com");
  await ldap.getByLabel("Bind password").fill(BIND_PASSWORD);
  await users.getByLabel("Base DN").fill("ou=people,dc=example,dc=com");
  await users.getByLabel("Scope").selectOption("SCOPE_ONELEVEL");
  await users.getByLabel("Filter").fill("(uid=someone)");
  await checkPage(page, "settings-ldap-edit");

  // A filter without %(user)s: the API's message next to the filter, nothing stored.
  await ldap.getByRole("button", { name: "Save" }).click();
  const message = page.locator("#ldap_user_search_filter-error");
  await message.waitFor();
  assert.match(await message.textContent(), /DN must include "%\(user\)s" placeholder for username/);
  const filter = page.locator("#ldap_user_search_filter");
  assert.equal(await filter.getAttribute("aria-invalid"), "true");
  assert.equal(await filter.inputValue(), "(uid=someone)");
  assert.equal(await page.locator("#AUTH_LDAP_BIND_PASSWORD").inputValue(), "");
  await checkPage(page, "settings-ldap-edit-error");
  let now = await api(server.base, "GET", "/api/v2/settings/ldap/");
  assert.equal(now.json.AUTH_LDAP_SERVER_URI, "");

  // Corrected (the password typed again, since a refused form never shows it back): saved.
  await page.locator("#AUTH_LDAP_BIND_PASSWORD").fill(BIND_PASSWORD);
  await filter.fill("(uid=%(user)s)");
  await page.locator("#ldap").getByRole("button", { name: "Save" }).click();
  await page.getByText("The LDAP settings were saved.").waitFor();
  const view = await page.locator("#ldap dl.view").textContent();
  assert.ok(view.includes(uri), view);
  assert.match(view, /ou=people,dc=example,dc=com\s*SCOPE_ONELEVEL\s*\(uid=%\(user\)s\)/);
  assert.match(view, /Bind password\s*Set/);
  now = await api(server.base, "GET", "/api/v2/settings/ldap/");
  assert.equal(now.json.AUTH_LDAP_SERVER_URI, uri);
  assert.deepEqual(now.json.AUTH_LDAP_USER_SEARCH, ["ou=people,dc=example,dc=com", "SCOPE_ONELEVEL", "(uid=%(user)s)"]);
  assert.equal(now.json.AUTH_LDAP_BIND_PASSWORD, "$encrypted$");

  // Test connection: a line for the URI, failed at the connect step; no password anywhere.
  await page.getByRole("button", { name: "Test connection" }).click();
  const line = page.locator("#ldap-test li");
  await line.waitFor();
  const text = await line.textContent();
  assert.ok(text.includes(uri), text);
  assert.match(text, /Failed at connect: /);
  assert.ok(!(await page.content()).includes(BIND_PASSWORD));
  await checkPage(page, "settings-ldap-test");
});
