// The Activity stream page (docs/console.md, "Settings and activity"): filters by user,
// kind and time range narrow the list in place and in the address.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_PASSWORD, api, checkPage, launch, login, newPage, startServer } from "../lib/harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
  const r = await api(server.base, "POST", "/api/v2/users/", { body: { username: "dave", password: "dave-password-1" } });
  assert.equal(r.status, 201, r.text);
  // dave creates a token of his own: an o_auth2_access_token entry by dave.
  const t = await api(server.base, "POST", "/api/v2/tokens/", { user: "dave", password: "dave-password-1", body: { scope: "read" } });
  assert.equal(t.status, 201, t.text);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const rows = (page) => page.locator("#activity table.rows tbody tr");

test("filters narrow the list", async () => {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await page.getByRole("link", { name: "Activity", exact: true }).click();
  await page.getByRole("heading", { name: "Activity stream" }).waitFor();
  const all = await rows(page).count();
  assert.ok(all >= 3, `${all} entries`);
  await checkPage(page, "activity");

  await page.getByLabel("User").fill("dave");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/user=dave/);
  await page.locator("#activity").getByText(/^\d+ (entry|entries)/).waitFor();
  const byDave = await rows(page).allTextContents();
  assert.ok(byDave.length >= 1 && byDave.length < all, `${byDave.length} of ${all}`);
  for (const who of await page.locator("#activity td[data-label='Who']").allTextContents()) {
    assert.equal(who.trim(), "dave");
  }

  await page.getByLabel("Kind").selectOption("o_auth2_access_token");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/kind=o_auth2_access_token/);
  await page.locator("#activity td[data-label='Object']").first().waitFor();
  for (const object of await page.locator("#activity td[data-label='Object']").allTextContents()) {
    assert.match(object.trim(), /^o_auth2_access_token /);
  }
  await checkPage(page, "activity-filtered");

  // A range in the future (UTC) leaves nothing.
  await page.getByLabel("From (UTC)").fill("2999-01-01T00:00");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL(/from=2999/);
  await page.locator("#activity").getByText("0 entries.").waitFor();
  assert.equal(await rows(page).count(), 0);

  // The address is the filter: reloading it shows the same list without the script's help.
  await page.goto(`${server.base}/console/activity/?user=dave&kind=o_auth2_access_token`);
  assert.ok((await rows(page).count()) >= 1);
});
