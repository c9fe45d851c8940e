// Signs arbitrary JWT claims with a private JWK (RS256), for crafting back-channel logout
// tokens in the single sign-on tests. Prints the compact JWS and nothing else.
// Usage: node sign.mjs '<private-jwk-json>' '<claims-json>' ['<protected-header-json>']
// The header is {alg: "RS256", kid: <the JWK's kid>} merged with the optional header argument
// (which may set typ, or override kid; "kid": null removes it).
import { SignJWT, importJWK } from 'jose';

const [jwkArg, claimsArg, headerArg] = process.argv.slice(2);
if (!jwkArg || !claimsArg) {
  process.stderr.write("usage: node sign.mjs '<private-jwk-json>' '<claims-json>' ['<protected-header-json>']\n");
  process.exit(2);
}
const jwk = JSON.parse(jwkArg);
const claims = JSON.parse(claimsArg);
const header = { alg: 'RS256', ...(jwk.kid !== undefined ? { kid: jwk.kid } : {}), ...(headerArg ? JSON.parse(headerArg) : {}) };
for (const [name, value] of Object.entries(header)) {
  if (value === null) delete header[name];
}
const key = await importJWK({ ...jwk, alg: 'RS256' }, 'RS256');
const jws = await new SignJWT(claims).setProtectedHeader({ ...header, alg: 'RS256' }).sign(key);
process.stdout.write(`${jws}\n`);
