// The hostile OpenID Provider of the single sign-on tests (docs/sso.md, "Tests"): axa-group's
// oauth2-mock-server behind a small wrapper that lets each test replace the provider's
// answers with broken or malicious ones. The Rust tests spawn it as
// `node tests/interop/hostile-idp.mjs`.
//
// Environment:
//   HIDP_PORT                    port on 127.0.0.1 (default 0: any free port)
//   HIDP_TLS_CERT, HIDP_TLS_KEY  PEM files; when both are set the provider speaks HTTPS
//
// Stdout carries exactly one line, {"issuer":"http://127.0.0.1:PORT","port":PORT} (https when
// TLS is on), once the provider listens; everything else goes to stderr.
//
// Honest behaviour: /authorize redirects at once to redirect_uri?code=…&state=…; /token
// accepts any client and any code and returns an access token and an id_token (RS256, kid)
// with iss, sub "hostile-user", aud = client_id, iat, exp = iat + 300, nonce (the one the
// authorization request sent), preferred_username, email, email_verified, at_hash.
//
// Control:
//   POST /__mode            JSON body replacing the mutation set ({} = honest); answers 204.
//   GET  /__requests        {"discovery":N,"jwks":N,"token":N,"userinfo":N,"authorize":N}
//   POST /__requests/reset  zeroes the counts; answers 204.
// Mutation keys (all optional, combinable):
//   claims {name: value}   set id_token claims (after the honest ones and at_hash)
//   drop [name, …]         remove id_token claims
//   at_hash "wrong"        a well-formed but wrong at_hash (any other string is used as is)
//   sign "none" | "hs256-secret" | "hs256-pubkey" | "tamper"
//                          alg none with an empty signature; HS256 keyed with the client secret of
//                          the token request; HS256 keyed with the signing key's SPKI PEM text;
//                          a valid RS256 token whose payload then gets sub += "-tampered"
//   kid null | "<string>"  remove the header's kid, or set it (the real key still signs)
//   jwks "two-keys-no-kid" | "unparseable-extra" | "big" | "rotate"
//                          signing key + a second RSA key, neither with kid (tokens without kid);
//                          {"kty":"RSA","kid":"broken","n":"!!!","e":"AQAB"} before the good key;
//                          a 3 MiB body (a "padding" member); a new key per POST, the only one
//                          published and the one signing (while the mode lasts; {} goes back to
//                          the startup key)
//   hang [endpoint, …]     discovery | jwks | token | userinfo never answer
//   redirect [endpoint, …] those answer 302 to http://127.0.0.1:1/elsewhere
//   discovery {…}          merged into the discovery document
//   authorize_iss "<s>"    iss=<s> on the authorization redirect
//   userinfo {…}           merged into the userinfo answer (null removes a member)
// Userinfo answers the honest user claims, with the user claims of `claims` (not iss, aud, exp,
// …), then `userinfo`.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

for (const level of ['log', 'info', 'debug']) {
  console[level] = (...args) => console.error(...args);
}

const USER = {
  sub: 'hostile-user',
  preferred_username: 'hostile-user',
  email: 'hostile@example.test',
  email_verified: true,
};
// Claims about the token rather than the user; `claims` mutations of these do not reach userinfo.
const TOKEN_CLAIMS = new Set(['iss', 'aud', 'azp', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 'auth_time', 'jti', 'sid', 'acr', 'amr']);
const ELSEWHERE = 'http://127.0.0.1:1/elsewhere';
const ENDPOINTS = {
  '/.well-known/openid-configuration': 'discovery',
  '/jwks': 'jwks',
  '/token': 'token',
  '/userinfo': 'userinfo',
  '/authorize': 'authorize',
};

const b64u = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function newRsaKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = crypto.randomBytes(16).toString('hex');
  const { kty, n, e } = publicKey.export({ format: 'jwk' });
  return {
    kid,
    privateKey,
    publicJwk: { kty, n, e, kid, alg: 'RS256', use: 'sig' },
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }),
  };
}

const originalKey = newRsaKey();
let rotatedKey = null; // set by each POST /__mode carrying "jwks": "rotate"
let secondKey = null; // the extra key of "two-keys-no-kid", made on first use
let mode = {};
const counts = { discovery: 0, jwks: 0, token: 0, userinfo: 0, authorize: 0 };

const signingKey = () => (mode.jwks === 'rotate' && rotatedKey ? rotatedKey : originalKey);

// --- the stock service ---------------------------------------------------------------------
const issuer = new OAuth2Issuer();
const service = new OAuth2Service(issuer);
// Access tokens are signed by the library with the startup key.
await issuer.keys.add({ ...originalKey.privateKey.export({ format: 'jwk' }), kid: originalKey.kid, alg: 'RS256' });

service.on('beforeTokenSigning', (token) => {
  if (token.payload.sub === 'johndoe') token.payload.sub = USER.sub;
});

service.on('beforeAuthorizeRedirect', (redirect) => {
  if (typeof mode.authorize_iss === 'string') redirect.url.searchParams.set('iss', mode.authorize_iss);
});

service.on('beforeUserinfo', (response) => {
  const body = { ...USER };
  for (const [name, value] of Object.entries(mode.claims ?? {})) {
    if (!TOKEN_CLAIMS.has(name)) body[name] = value;
  }
  for (const [name, value] of Object.entries(mode.userinfo ?? {})) {
    if (value === null) delete body[name];
    else body[name] = value;
  }
  response.body = body;
});

// The client credentials of a token request, form-urldecoded (RFC 6749 2.3.1).
function clientCredentials(req) {
  const formDecode = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  const auth = req.headers.authorization ?? '';
  const m = /^basic\s+(.+)$/i.exec(auth);
  if (m) {
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) {
      try {
        return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
      } catch {
        return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
      }
    }
  }
  return { id: req.body?.client_id, secret: req.body?.client_secret };
}

function atHash(accessToken) {
  return crypto.createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16).toString('base64url');
}

// Replaces the library's id_token with one built and signed here, honest or mutated.
service.on('beforeResponse', (response, req) => {
  const body = response.body;
  if (typeof body?.id_token !== 'string') return;
  const stock = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString('utf8'));
  const client = clientCredentials(req);
  const now = Math.floor(Date.now() / 1000);

  const payload = {
    iss: issuer.url,
    sub: USER.sub,
    aud: client.id ?? stock.aud,
    iat: now,
    exp: now + 300,
    ...(stock.nonce !== undefined ? { nonce: stock.nonce } : {}),
    preferred_username: USER.preferred_username,
    email: USER.email,
    email_verified: USER.email_verified,
    at_hash: atHash(body.access_token),
  };
  if (mode.at_hash === 'wrong') payload.at_hash = atHash(`${body.access_token}.wrong`);
  else if (typeof mode.at_hash === 'string') payload.at_hash = mode.at_hash;
  Object.assign(payload, mode.claims ?? {});
  for (const name of mode.drop ?? []) delete payload[name];

  body.id_token = signIdToken(payload, client.secret);
});

function signIdToken(payload, clientSecret) {
  const key = signingKey();
  const header = { alg: 'RS256', typ: 'JWT', kid: key.kid };
  if (mode.jwks === 'two-keys-no-kid') delete header.kid;
  if (mode.kid === null) delete header.kid;
  else if (typeof mode.kid === 'string') header.kid = mode.kid;

  const rs256 = (h, p) => {
    const input = `${b64u(h)}.${b64u(p)}`;
    return `${input}.${crypto.sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
  };
  const hs256 = (h, p, secret) => {
    const input = `${b64u({ ...h, alg: 'HS256' })}.${b64u(p)}`;
    return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
  };

  switch (mode.sign) {
    case 'none':
      return `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u(payload)}.`;
    case 'hs256-secret':
      return hs256(header, payload, clientSecret ?? '');
    case 'hs256-pubkey':
      return hs256(header, payload, Buffer.from(key.publicPem, 'utf8'));
    case 'tamper': {
      const [h, , s] = rs256(header, payload).split('.');
      return `${h}.${b64u({ ...payload, sub: `${payload.sub}-tampered` })}.${s}`;
    }
    default:
      return rs256(header, payload);
  }
}

function jwksDocument() {
  const key = signingKey();
  switch (mode.jwks) {
    case 'two-keys-no-kid': {
      secondKey ??= newRsaKey();
      const strip = ({ kid, ...jwk }) => jwk;
      return { keys: [strip(key.publicJwk), strip(secondKey.publicJwk)] };
    }
    case 'unparseable-extra':
      return { keys: [{ kty: 'RSA', kid: 'broken', n: '!!!', e: 'AQAB' }, key.publicJwk] };
    case 'big':
      return { keys: [key.publicJwk], padding: 'x'.repeat(3 * 1024 * 1024) };
    default:
      return { keys: [key.publicJwk] };
  }
}

function discoveryDocument(req) {
  let doc;
  service.openidConfigurationHandler(req, { json(value) { doc = value; } });
  // The stock document lists only "none"; the relying party under test is a confidential client.
  doc.token_endpoint_auth_methods_supported = ['client_secret_basic', 'client_secret_post', 'none'];
  return { ...doc, ...(mode.discovery ?? {}) };
}

// --- the wrapper in front of the stock request handler --------------------------------------
function sendJson(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const stockHandler = service.requestHandler;

async function handle(req, res) {
  const path = new URL(req.url, 'http://x').pathname;

  if (path === '/__mode' && req.method === 'POST') {
    let next;
    try {
      const text = await readBody(req);
      next = text.trim() === '' ? {} : JSON.parse(text);
      if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new Error('not an object');
    } catch (err) {
      sendJson(res, 400, { error: `bad mode: ${err.message}` });
      return;
    }
    if (next.jwks === 'rotate') rotatedKey = newRsaKey();
    mode = next;
    console.error(`hostile-idp: mode ${JSON.stringify(mode)}`);
    res.writeHead(204).end();
    return;
  }
  if (path === '/__requests' && req.method === 'GET') {
    sendJson(res, 200, counts);
    return;
  }
  if (path === '/__requests/reset' && req.method === 'POST') {
    for (const name of Object.keys(counts)) counts[name] = 0;
    res.writeHead(204).end();
    return;
  }

  const endpoint = ENDPOINTS[path];
  if (endpoint) {
    counts[endpoint] += 1;
    if (mode.hang?.includes(endpoint)) return; // never answered, never closed
    if (mode.redirect?.includes(endpoint)) {
      res.writeHead(302, { location: ELSEWHERE, 'content-length': 0 }).end();
      return;
    }
    if (endpoint === 'discovery' && req.method === 'GET') {
      sendJson(res, 200, discoveryDocument(req));
      return;
    }
    if (endpoint === 'jwks' && req.method === 'GET') {
      sendJson(res, 200, jwksDocument());
      return;
    }
  }
  stockHandler(req, res);
}

const port = Number(process.env.HIDP_PORT || 0);
const certFile = process.env.HIDP_TLS_CERT;
const keyFile = process.env.HIDP_TLS_KEY;
const tls = Boolean(certFile && keyFile);
const listener = (req, res) => {
  handle(req, res).catch((err) => {
    console.error('hostile-idp: request failed', err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
  });
};
const server = tls
  ? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, listener)
  : http.createServer(listener);
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
server.on('error', (err) => console.error('hostile-idp: server error', err));
const actualPort = server.address().port;
issuer.url = `${tls ? 'https' : 'http'}://127.0.0.1:${actualPort}`;

process.stdout.write(`${JSON.stringify({ issuer: issuer.url, port: actualPort })}\n`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
