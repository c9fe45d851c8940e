// Single sign-on from the console's login page (docs/sso.md): the "Sign in with SSO" button
// appears once the oidc settings are complete, and a real browser signs in through a real
// OpenID Connect provider (panva's oidc-provider, tests/interop/idp.mjs, its development
// login page) and lands on the console as an external user.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { api, checkPage, launch, newPage, startServer } from "../lib/harness.mjs";

const interop = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "interop");

let server;
let browser;
let idp;

/** Starts tests/interop/idp.mjs with one client whose redirect URI is this server's. */
async function startIdp(base) {
  const child = spawn(process.execPath, [join(interop, "idp.mjs")], {
    env: {
      ...process.env,
      IDP_PORT: "0",
      IDP_CLIENTS: JSON.stringify([{
        client_id: "portcullis",
        client_secret: "browser-test-secret",
        redirect_uris: [`${base}/sso/complete/oidc/`],
      }]),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  const line = await new Promise((ok, fail) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) { ok(out.slice(0, nl)); }
    });
    child.on("exit", (code) => fail(new Error(`idp.mjs exited (${code}):\n${err}`)));
  });
  return { issuer: JSON.parse(line).issuer, stop: () => child.kill("SIGTERM") };
}

before(async () => {
  server = await startServer();
  browser = await launch();
  idp = await startIdp(server.base);
});

after(async () => {
  idp?.stop();
  await browser?.close();
  await server?.stop();
});

test("the login page offers single sign-on only once it is configured", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/console/login/`);
  assert.equal(await page.getByRole("link", { name: "Sign in with SSO" }).count(), 0);
  const r = await api(server.base, "PATCH", "/api/v2/settings/oidc/", {
    body: {
      SOCIAL_AUTH_OIDC_KEY: "portcullis",
      SOCIAL_AUTH_OIDC_SECRET: "browser-test-secret",
      SOCIAL_AUTH_OIDC_OIDC_ENDPOINT: idp.issuer,
      SOCIAL_AUTH_OIDC_VERIFY_SSL: true,
    },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.SOCIAL_AUTH_OIDC_SECRET, "$encrypted$");
  await page.goto(`${server.base}/console/login/`);
  const link = page.getByRole("link", { name: "Sign in with SSO" });
  assert.equal(await link.getAttribute("href"), "/sso/login/oidc/?next=/console/");
  await checkPage(page, "login-sso");
});

test("a user signs in through the provider and lands on the console as an external user", async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/console/login/`);
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(idp.issuer)),
    page.getByRole("link", { name: "Sign in with SSO" }).click(),
  ]);
  // oidc-provider's development login form: any password is accepted.
  await page.locator('input[name="login"]').fill("dora");
  await page.locator('input[name="password"]').fill("any");
  await Promise.all([
    page.waitForURL(`${server.base}/console/`),
    page.locator('button[type="submit"]').click(),
  ]);
  const me = await page.evaluate(async () => (await fetch("/api/v2/me/")).json());
  assert.equal(me.results[0].username, "dora");
  assert.equal(me.results[0].external_account, "social");
  assert.equal(me.results[0].email, "dora@example.test");
});

test("a failed single sign-on is named on the login page", async () => {
  const page = await newPage(browser);
  // A callback with no flow behind it: the state check refuses it.
  await page.goto(`${server.base}/sso/complete/oidc/?code=x&state=forged`);
  assert.equal(new URL(page.url()).pathname, "/console/login/");
  await page.getByRole("alert").filter({ hasText: "started in another browser" }).waitFor();
});
