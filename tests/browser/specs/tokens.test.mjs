// The token pages (docs/console.md, "Tokens and applications"): a token made in the console
// is shown once with its warning, works as a Bearer credential, is never shown again, and
// stops working when revoked; an administrator's bulk revocation names the count first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_PASSWORD, api, checkPage, launch, login, newPage, startServer } from "../lib/harness.mjs";

let server;
let browser;
const CAROL = "carol-password-1";

before(async () => {
  server = await startServer();
  browser = await launch();
  const r = await api(server.base, "POST", "/api/v2/users/", { body: { username: "carol", password: CAROL } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function me(token) {
  return (await fetch(`${server.base}/api/v2/me/`, { headers: { Authorization: `Bearer ${token}` } })).status;
}

test("a token is shown once, works as a Bearer credential, and is refused once revoked", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "carol", CAROL, "/console/tokens/");
  await page.getByRole("heading", { name: "My tokens" }).waitFor();
  await page.getByText("No tokens.").waitFor();
  // An ordinary user has no bulk tools.
  assert.equal(await page.getByRole("link", { name: /All tokens/ }).count(), 0);
  await checkPage(page, "tokens-empty");

  await page.getByLabel("Description").fill("laptop cli");
  await page.getByLabel("Scope").selectOption("write");
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByRole("heading", { name: "Token created" }).waitFor();
  // htmx swapped the answer into the page: the address is still the list's.
  assert.match(page.url(), /\/console\/tokens\/$/);
  const token = (await page.locator("code.secret#token-value").textContent()).trim();
  assert.ok(token.length > 20, token);
  await page.locator(".warning").filter({ hasText: "will not be shown again" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Copy" }).count(), 1);
  await checkPage(page, "token-created");

  assert.equal(await me(token), 200);

  // A reload shows the list: the token, never its value again.
  await page.reload();
  await page.getByRole("heading", { name: "My tokens" }).waitFor();
  await page.getByRole("cell", { name: "laptop cli" }).waitFor();
  assert.ok(!(await page.content()).includes(token));
  await checkPage(page, "tokens-list");

  // Revoke it: htmx asks for confirmation, the list comes back empty.
  page.once("dialog", (d) => d.accept());
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/revoke/") && r.request().method() === "POST"),
    page.getByRole("button", { name: /^Revoke token \d+$/ }).click(),
  ]);
  await page.getByText("No tokens.").waitFor();
  assert.equal(await me(token), 401);
});

test("an administrator's revoke-all names the count before revoking", async () => {
  const tokens = [];
  for (let i = 0; i < 2; i++) {
    const r = await api(server.base, "POST", "/api/v2/tokens/", { user: "carol", password: CAROL, body: { description: `t${i}` } });
    assert.equal(r.status, 201, r.text);
    tokens.push(r.json.token);
  }
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD, "/console/tokens/");
  await page.getByRole("link", { name: "All tokens and bulk revocation" }).click();
  await page.getByRole("heading", { name: "All tokens" }).waitFor();
  assert.equal(await page.locator("#tokens tbody tr").count(), 2);
  await checkPage(page, "tokens-all");

  await page.getByLabel("User").fill("carol");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByRole("link", { name: "Revoke all tokens of carol" }).waitFor();
  await checkPage(page, "tokens-all-filtered");

  await page.getByRole("link", { name: "Revoke every token" }).click();
  await page.getByRole("heading", { name: "Revoke tokens" }).waitFor();
  const said = await page.locator("#revoke-count").textContent();
  assert.match(said, /This revokes 2 tokens\./);
  // Nothing has happened yet.
  assert.equal(await me(tokens[0]), 200);
  await checkPage(page, "tokens-revoke-confirm");

  await Promise.all([page.waitForURL(/revoked=2$/), page.getByRole("button", { name: "Revoke 2 tokens" }).click()]);
  await page.getByText("2 tokens revoked.").waitFor();
  for (const t of tokens) { assert.equal(await me(t), 401); }
  await checkPage(page, "tokens-revoked");
});
