// Prints one private RSA-2048 JWK on one line (random kid, alg RS256, use sig), for the
// single sign-on tests' IDP_JWKS and key rotation. Usage: node keygen.mjs
import { exportJWK, generateKeyPair } from 'jose';

const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
const jwk = await exportJWK(privateKey);
process.stdout.write(`${JSON.stringify({ ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' })}\n`);
