// Scripted single sign-on logins against a running Portcullis and a provider (issue 15,
// "Speed"; docs/sso.md). No browser: fetch with manual redirects and a cookie jar per login.
//
//   node bench/sso.mjs <portcullis-base> <login-count> <concurrency> <idp-kind>
//
// idp-kind "oidc-provider": the dev interaction pages of tests/interop/idp.mjs (login form
// POST); "hostile": tests/interop/hostile-idp.mjs, whose /authorize redirects at once.
// Prints one JSON line: per-login timings of the callback (/sso/complete/oidc/, Portcullis's
// share of a login including its one token call) and of the whole round trip, in ms.
const [base, countArg, concArg, kind] = process.argv.slice(2);
const count = Number(countArg ?? 200);
const conc = Number(concArg ?? 1);

class Jar {
  constructor() { this.c = new Map(); }
  take(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (/max-age=0/i.test(line) || value === '""') { this.c.delete(name); } else { this.c.set(name, value); }
    }
  }
  header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
}

async function go(jar, url, init = {}) {
  const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie: jar.header() } });
  jar.take(res);
  await res.arrayBuffer();
  return res;
}

function expect(res, statuses, what) {
  if (!statuses.includes(res.status)) { throw new Error(`${what}: status ${res.status}`); }
  return res.headers.get('location');
}

async function login(n) {
  const pc = new Jar();
  const idp = new Jar();
  const t0 = performance.now();
  let loc = expect(await go(pc, `${base}/sso/login/oidc/`), [302], 'begin');
  if (kind === 'oidc-provider') {
    const auth = new URL(loc);
    let r = await go(idp, loc);
    const interaction = new URL(expect(r, [302, 303], 'authorize'), auth).href;
    r = await go(idp, interaction, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ prompt: 'login', login: `bench${n % 50}`, password: 'x' }).toString(),
    });
    const resume = new URL(expect(r, [302, 303], 'interaction'), auth).href;
    loc = expect(await go(idp, resume), [302, 303], 'resume');
  } else {
    loc = expect(await go(idp, loc), [302, 303], 'authorize');
  }
  if (!loc.startsWith(base)) { throw new Error(`callback to ${loc}`); }
  const t1 = performance.now();
  const done = await go(pc, loc);
  const t2 = performance.now();
  const next = expect(done, [302], 'complete');
  if (!pc.c.has('awx_sessionid')) { throw new Error(`no session (to ${next})`); }
  return { complete: t2 - t1, total: t2 - t0 };
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
// Warm-up: discovery and keys are fetched on the first login; steady state is what counts.
await login(0);
const results = [];
let next = 1;
const start = performance.now();
await Promise.all(Array.from({ length: conc }, async () => {
  while (next <= count) { const n = next++; results.push(await login(n)); }
}));
const secs = (performance.now() - start) / 1000;
const c = results.map((r) => r.complete);
const t = results.map((r) => r.total);
console.log(JSON.stringify({
  logins: results.length, concurrency: conc, logins_per_s: +(results.length / secs).toFixed(1),
  complete_p50: +pct(c, 0.5).toFixed(2), complete_p99: +pct(c, 0.99).toFixed(2),
  total_p50: +pct(t, 0.5).toFixed(2), total_p99: +pct(t, 0.99).toFixed(2),
}));
