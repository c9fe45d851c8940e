// The Settings page (docs/console.md, "Settings and activity"): view mode, edit in place,
// a save that applies at once (HTTP Basic off and on again), a validation message next to
// its field, Cancel.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
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

async function openSettings() {
  const page = await newPage(browser);
  await login(page, server.base, "admin", ADMIN_PASSWORD);
  await page.getByRole("link", { name: "Settings", exact: true }).click();
  await page.getByRole("heading", { name: "Miscellaneous Authentication" }).waitFor();
  return page;
}

// The page has two sections (the LDAP one is in settings-ldap.test.mjs): these tests use the
// "Miscellaneous Authentication" one.
const misc = (page) => page.locator("#misc-auth");

async function edit(page) {
  await misc(page).getByRole("link", { name: "Edit" }).click();
  await misc(page).getByRole("button", { name: "Save" }).waitFor();
}

async function save(page) {
  await misc(page).getByRole("button", { name: "Save" }).click();
  await page.getByText("The settings were saved.").waitFor();
}

const basicMe = async () => (await api(server.base, "GET", "/api/v2/me/")).status;

test("view mode shows the values; Edit opens the form in place; Cancel goes back", async () => {
  const page = await openSettings();
  const view = page.locator("#misc-auth dl.view");
  await view.waitFor();
  assert.match(await view.textContent(), /Enable HTTP Basic Auth\s*On/);
  assert.match(await view.textContent(), /1800 seconds/);
  await checkPage(page, "settings");
  await edit(page);
  // Swapped in by htmx: the address did not change.
  assert.equal(new URL(page.url()).search, "");
  assert.equal(await page.getByLabel("Enable HTTP Basic Auth").isChecked(), true);
  assert.equal(await page.getByLabel("Idle Time Force Log Out (seconds)").inputValue(), "1800");
  await checkPage(page, "settings-edit");
  await page.getByLabel("Idle Time Force Log Out (seconds)").fill("999");
  await misc(page).getByRole("link", { name: "Cancel" }).click();
  await page.locator("#misc-auth dl.view").waitFor();
  assert.match(await page.locator("#misc-auth dl.view").textContent(), /1800 seconds/);
  assert.equal(await page.getByRole("button", { name: "Save" }).count(), 0);
});

test("switching HTTP Basic off refuses Basic at once, and on again restores it", async () => {
  assert.equal(await basicMe(), 200);
  const page = await openSettings();
  await edit(page);
  await page.getByLabel("Enable HTTP Basic Auth").uncheck();
  await save(page);
  assert.match(await page.locator("#misc-auth dl.view").textContent(), /Enable HTTP Basic Auth\s*Off/);
  assert.equal(await basicMe(), 401);
  // The session still reads the setting through the API.
  const setting = await page.evaluate(async () => (await fetch("/api/v2/settings/authentication/")).json());
  assert.equal(setting.AUTH_BASIC_ENABLED, false);

  await edit(page);
  await page.getByLabel("Enable HTTP Basic Auth").check();
  await save(page);
  assert.equal(await basicMe(), 200);
  const after = await api(server.base, "GET", "/api/v2/settings/authentication/");
  assert.equal(after.json.AUTH_BASIC_ENABLED, true);
});

test("a refused value is shown next to its field and nothing changes", async () => {
  const page = await openSettings();
  await edit(page);
  const age = page.getByLabel("Idle Time Force Log Out (seconds)");
  await age.fill("10");
  await misc(page).getByRole("button", { name: "Save" }).click();
  const message = page.locator("#SESSION_COOKIE_AGE-error");
  await message.waitFor();
  assert.equal((await message.textContent()).trim(), "Ensure this value is greater than or equal to 60.");
  assert.equal(await age.getAttribute("aria-invalid"), "true");
  assert.equal(await age.getAttribute("aria-describedby"), "SESSION_COOKIE_AGE-error");
  assert.equal(await age.inputValue(), "10");
  await checkPage(page, "settings-edit-error");
  const now = await api(server.base, "GET", "/api/v2/settings/authentication/");
  assert.equal(now.json.SESSION_COOKIE_AGE, 1800);
  // Correct it and save: back to view mode with the new value.
  await age.fill("3600");
  await save(page);
  assert.match(await page.locator("#misc-auth dl.view").textContent(), /3600 seconds/);
  const later = await api(server.base, "GET", "/api/v2/settings/authentication/");
  assert.equal(later.json.SESSION_COOKIE_AGE, 3600);
});
