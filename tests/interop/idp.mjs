// The certified OpenID Provider of the single sign-on tests (docs/sso.md, "Tests"): panva's
// oidc-provider with its development login pages (any login name, any password), no consent
// step, back-channel and RP-initiated logout, revocation, and RFC 9207 `iss` on the
// authorization response. The Rust tests spawn it as `node tests/interop/idp.mjs`.
//
// Environment:
//   IDP_PORT      port on 127.0.0.1 (default 0: any free port)
//   IDP_JWKS      private JWKS {"keys":[...]} (RS256, kid, use sig); the first key signs.
//                 Default: one fresh RS256 key.
//   IDP_CLIENTS   JSON array of client metadata (default: the "portcullis" client below);
//                 token_endpoint_auth_method defaults to client_secret_basic, and
//                 backchannel_logout_session_required to true when backchannel_logout_uri is set
//   IDP_ACCOUNTS  JSON object sub -> claim overrides (null removes a claim)
//
// Stdout carries exactly one line, {"issuer":"http://127.0.0.1:PORT","port":PORT}, once the
// provider listens; everything else goes to stderr.
import * as http from 'node:http';

// oidc-provider prints its notices with console.info; only the ready line may reach stdout.
for (const level of ['log', 'info', 'debug']) {
  console[level] = (...args) => console.error(...args);
}

const { default: Provider } = await import('oidc-provider');
const jose = await import('jose');

function envJson(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  try {
    return JSON.parse(raw);
  } catch (err) {
    console.error(`idp: ${name} is not valid JSON: ${err.message}`);
    process.exit(2);
  }
}

async function defaultJwks() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await jose.exportJWK(privateKey);
  return { keys: [{ ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' }] };
}

const port = Number(process.env.IDP_PORT || 0);
const jwks = envJson('IDP_JWKS', null) ?? await defaultJwks();
const clients = envJson('IDP_CLIENTS', [{
  client_id: 'portcullis',
  client_secret: 'test-only-secret',
  redirect_uris: ['http://127.0.0.1:8052/sso/complete/oidc/'],
}]).map((client) => ({
  token_endpoint_auth_method: 'client_secret_basic',
  // With a back-channel logout URI, put `sid` in id_tokens and logout tokens unless told not to.
  ...(client.backchannel_logout_uri ? { backchannel_logout_session_required: true } : {}),
  ...client,
}));
const accounts = envJson('IDP_ACCOUNTS', {});

function accountClaims(sub) {
  const claims = {
    sub,
    email: `${sub}@example.test`,
    email_verified: !sub.startsWith('unverified'),
    preferred_username: sub,
    name: sub,
    given_name: sub,
    family_name: 'Test',
    groups: [],
  };
  for (const [name, value] of Object.entries(accounts[sub] ?? {})) {
    if (value === null) delete claims[name];
    else claims[name] = value;
  }
  claims.sub = sub;
  return claims;
}

// The issuer depends on the port, which is known only once the socket listens.
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
server.on('error', (err) => console.error('idp: server error', err));
const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;

const provider = new Provider(issuer, {
  clients,
  jwks,
  cookies: { keys: ['test-only-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  // The relying party reads the claims from the id_token; put the granted ones there.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
  },
  // The library's defaults, spelled out (the default functions log a notice on every call).
  ttl: {
    AccessToken: 60 * 60,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    Interaction: 60 * 60,
    Session: 14 * 24 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
  },
  // The relying parties of the tests listen on 127.0.0.1, which the library's own fetch refuses
  // (SSRF protection against special-use addresses); back-channel logout goes there.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  // PKCE is optional for confidential clients; a code_challenge that was sent is verified.
  pkce: { required: () => false },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() { return accountClaims(sub); },
    };
  },
  // No consent step: every authorization request gets a grant of what it asked for.
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
    if (!grant) {
      grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
    }
    grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
    const claims = [...oidc.requestParamClaims];
    if (claims.length > 0) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  },
});

provider.on('server_error', (ctx, err) => console.error('idp: server_error', err));
provider.on('backchannel.error', (ctx, err, client) => console.error(`idp: back-channel logout to ${client.clientId} failed`, err));
provider.on('backchannel.success', (ctx, client) => console.error(`idp: back-channel logout to ${client.clientId} sent`));

// Request counters for the tests (`GET /__requests`): how often the relying party fetched
// discovery and keys, redeemed codes and read userinfo since this process started.
const counts = { discovery: 0, jwks: 0, token: 0, userinfo: 0 };
const counted = { '/.well-known/openid-configuration': 'discovery', '/jwks': 'jwks', '/token': 'token', '/me': 'userinfo' };
const callback = provider.callback();
handler = (req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/__requests' && req.method === 'GET') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(counts));
    return;
  }
  if (counted[path]) counts[counted[path]] += 1;
  callback(req, res);
};

process.stdout.write(`${JSON.stringify({ issuer, port: actualPort })}\n`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
