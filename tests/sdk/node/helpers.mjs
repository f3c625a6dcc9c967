// Shared setup for the Node SDK tests (not itself a test file).
//
// IDLINK_BASE_URL (e.g. http://127.0.0.1:9000) and IDLINK_CREDENTIALS (the credentials.json that
// `make run` writes) name the stack; tests/sdk/run.sh sets both.
//
// `login` and `serverToken` are test *setup*, not an SDK under test: they create fresh players
// through idlink's own login endpoint with plain fetch, so every test acts on users of its own.

import { readFileSync } from 'node:fs';
import { randomUUID, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

export const BASE_URL = (process.env.IDLINK_BASE_URL || 'http://127.0.0.1:9000').replace(/\/+$/, '');
export const creds = JSON.parse(
  readFileSync(process.env.IDLINK_CREDENTIALS || `${repo}.local/credentials.json`, 'utf8'),
);

// host:port, the form Auth0's SDKs take as `domain`.
export const domain = new URL(BASE_URL).host;

// Auth0's SDK builds only https://<domain> URLs. This fetch sends them to the local plain-HTTP
// stack and is otherwise the global fetch: the one thing the tests change about the SDK.
export function localFetch(url, init) {
  const href = url instanceof Request ? url.url : String(url);
  const httpsOrigin = `https://${domain}`;
  if (href === httpsOrigin || href.startsWith(`${httpsOrigin}/`) || href.startsWith(`${httpsOrigin}?`)) {
    const target = BASE_URL + href.slice(httpsOrigin.length);
    return globalThis.fetch(url instanceof Request ? new Request(target, url) : target, init);
  }
  return globalThis.fetch(url, init);
}

export const unique = (prefix) => `${prefix}-${randomUUID().replaceAll('-', '')}`;
// A social user_id as a JSON integer, exact in JavaScript (< 2**48).
export const uniqueInt = () => randomInt(1e9, 2 ** 48 - 1);

export function claims(token) {
  // Unverified read of a JWT payload: only for `sub` during setup.
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

const serverTokens = new Map();

export async function serverToken(scope) {
  if (!serverTokens.has(scope)) {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: creds.client_id,
      client_secret: creds.client_secret,
    });
    if (scope !== undefined) form.set('scope', scope);
    const res = await fetch(`${BASE_URL}/oauth/token`, { method: 'POST', body: form });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`setup: POST /oauth/token (scope=${scope}) -> ${res.status} ${body}`);
    serverTokens.set(scope, JSON.parse(body).access_token);
  }
  return serverTokens.get(scope);
}

export async function login(customId = unique('sdk-node-player'), socialProfile) {
  const doc = { server_custom_id: customId };
  if (socialProfile) doc.social_profile = socialProfile;
  const res = await fetch(`${BASE_URL}/users/login/server_custom_id`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await serverToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify(doc),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`setup: login ${JSON.stringify(doc)} -> ${res.status} ${body}`);
  const { token } = JSON.parse(body);
  return { customId, userId: claims(token).sub, token };
}
