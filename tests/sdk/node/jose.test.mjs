// jose verifies idlink user tokens through /.well-known/jwks.json, issuer and audience checked.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, errors } from 'jose';

import { BASE_URL, creds, login } from './helpers.mjs';

const jwks = createRemoteJWKSet(new URL(`${BASE_URL}/.well-known/jwks.json`));

describe('jose against idlink', () => {
  test('jwtVerify with the remote JWKS, issuer and audience', async () => {
    const player = await login();

    const { payload, protectedHeader } = await jwtVerify(player.token, jwks, {
      issuer: creds.issuer,
      audience: creds.project_id,
      requiredClaims: ['exp', 'iat', 'sub'],
    });

    assert.equal(protectedHeader.alg, 'ES256');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.sub, player.userId);
    assert.equal(payload.server_custom_id, player.customId);
    assert.equal(payload.xsolla_login_project_id, creds.project_id);
  });

  test('a wrong audience is refused', async () => {
    const player = await login();
    await assert.rejects(
      jwtVerify(player.token, jwks, { issuer: creds.issuer, audience: '00000000-0000-4000-8000-000000000000' }),
      (err) => {
        assert.ok(err instanceof errors.JWTClaimValidationFailed, `got ${err?.name}: ${err?.message}`);
        assert.equal(err.claim, 'aud');
        return true;
      },
    );
  });

  test('a wrong issuer is refused', async () => {
    const player = await login();
    await assert.rejects(
      jwtVerify(player.token, jwks, { issuer: 'https://login.xsolla.com', audience: creds.project_id }),
      (err) => {
        assert.ok(err instanceof errors.JWTClaimValidationFailed, `got ${err?.name}: ${err?.message}`);
        assert.equal(err.claim, 'iss');
        return true;
      },
    );
  });
});
