// Auth0's official Node SDK (auth0 v4, the API the "Link User Accounts" Action is written against)
// driving idlink. The clients are built and called as that Action builds and calls them; the only
// addition is `fetch: localFetch`, because the SDK builds https://<domain> URLs only.

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { AuthenticationClient, ManagementClient, ManagementApiError, AuthApiError } from 'auth0';

import { creds, domain, localFetch, login, serverToken, unique } from './helpers.mjs';

// As the Action's getManagementAccessToken(): client credentials grant, data.access_token / expires_in.
async function getManagementAccessToken() {
  const authentication = new AuthenticationClient({
    domain,
    clientId: creds.client_id,
    clientSecret: creds.client_secret,
    fetch: localFetch,
  });
  const {
    data: { access_token: accessToken, expires_in: expiresIn },
  } = await authentication.oauth.clientCredentialsGrant({
    audience: creds.audience,
  });
  return { accessToken, expiresIn };
}

// As the Action's getManagementClient().
function getManagementClient(token) {
  return new ManagementClient({
    domain,
    token,
    fetch: localFetch,
  });
}

// As the Action's linkIdentities().
async function linkIdentities(management, primaryIdentity, secondaryIdentity) {
  const { data } = await management.users.link(
    {
      id: primaryIdentity.user_id,
    },
    {
      provider: secondaryIdentity.provider,
      user_id: secondaryIdentity.user_id,
    },
  );
  return data;
}

const identityKeys = (identities) => new Set(identities.map((i) => `${i.provider}|${i.user_id}`));

// Auth0's error envelope as the SDK surfaces it: ManagementApiError {statusCode, error, errorCode, msg}.
function assertManagementError(err, statusCode, errorCode) {
  assert.ok(err instanceof ManagementApiError, `expected ManagementApiError, got ${err?.name}: ${err?.message}`);
  assert.equal(err.statusCode, statusCode, err.body);
  assert.equal(err.errorCode, errorCode, err.body);
  assert.equal(err.error, STATUS_CODES[statusCode], err.body);
  assert.ok(typeof err.message === 'string' && err.message.length > 0, err.body);
  const body = JSON.parse(err.body);
  assert.equal(body.statusCode, statusCode);
  assert.equal(body.errorCode, errorCode);
  return true;
}

describe('auth0 (Node SDK v4) against idlink', () => {
  let management;

  before(async () => {
    const { accessToken } = await getManagementAccessToken();
    management = getManagementClient(accessToken);
  });

  test('AuthenticationClient.oauth.clientCredentialsGrant', async () => {
    const { accessToken, expiresIn } = await getManagementAccessToken();
    assert.equal(accessToken.split('.').length, 3);
    assert.ok(Number.isInteger(expiresIn) && expiresIn > 0);
  });

  test('clientCredentialsGrant with an audience idlink does not serve: AuthApiError 403 access_denied', async () => {
    const authentication = new AuthenticationClient({
      domain,
      clientId: creds.client_id,
      clientSecret: creds.client_secret,
      fetch: localFetch,
    });
    // The Action's literal audience; idlink serves http://<domain>/api/v2/ in this local stack.
    const audience = `https://${domain}/api/v2/`;
    await assert.rejects(authentication.oauth.clientCredentialsGrant({ audience }), (err) => {
      assert.ok(err instanceof AuthApiError, `expected AuthApiError, got ${err?.name}`);
      assert.equal(err.statusCode, 403);
      assert.equal(err.error, 'access_denied');
      assert.equal(err.error_description, `Service not found: ${audience}`);
      return true;
    });
  });

  test('users.get', async () => {
    const steamId = unique('steam');
    const player = await login(undefined, { platform: 'steam', user_id: steamId });

    const { data, status } = await management.users.get({ id: player.userId });

    assert.equal(status, 200);
    assert.equal(data.user_id, player.userId);
    assert.deepEqual(
      identityKeys(data.identities),
      new Set([`server_custom_id|${player.customId}`, `steam|${steamId}`]),
    );
  });

  test('users.getAll({ q }) finds a player by identity, exactly and at once', async () => {
    const steamId = unique('steam');
    const player = await login(undefined, { platform: 'steam', user_id: steamId });
    await login(undefined, { platform: 'steam', user_id: `${steamId}0` });
    const q = `identities.provider:"steam" AND identities.user_id:"${steamId}"`;

    const { data, status } = await management.users.getAll({ q });

    assert.equal(status, 200);
    assert.deepEqual(data.map((u) => u.user_id), [player.userId]);
    assert.deepEqual(
      identityKeys(data[0].identities),
      new Set([`server_custom_id|${player.customId}`, `steam|${steamId}`]),
    );
    const paged = await management.users.getAll({ q, search_engine: 'v3', include_totals: true });
    assert.deepEqual(
      { start: paged.data.start, length: paged.data.length, total: paged.data.total },
      { start: 0, length: 1, total: 1 },
    );
    assert.deepEqual(paged.data.users.map((u) => u.user_id), [player.userId]);
  });

  test('users.getAll with a query idlink cannot answer exactly: ManagementApiError 400 invalid_query_string', async () => {
    await assert.rejects(management.users.getAll({ q: 'identities.user_id:7656*' }), (err) =>
      assertManagementError(err, 400, 'invalid_query_string'),
    );
  });

  test('users.link as the Action calls it merges the secondary into the primary', async () => {
    const primary = await login();
    const steamId = unique('steam');
    const secondary = await login(undefined, { platform: 'steam', user_id: steamId });

    const primaryIdentity = { user_id: primary.userId, provider: 'server_custom_id', connection: 'server_custom_id' };
    const secondaryIdentity = { user_id: secondary.customId, provider: 'server_custom_id', connection: 'server_custom_id' };
    const linkedIdentity = await linkIdentities(management, primaryIdentity, secondaryIdentity);

    // The Action's success test: `linkedIdentity !== undefined && linkedIdentity.length > 1`.
    assert.ok(linkedIdentity !== undefined && linkedIdentity.length > 1);
    assert.deepEqual(
      identityKeys(linkedIdentity),
      new Set([`server_custom_id|${primary.customId}`, `server_custom_id|${secondary.customId}`, `steam|${steamId}`]),
    );
    // Logging in as the former secondary lands on the primary.
    assert.equal((await login(secondary.customId)).userId, primary.userId);
  });

  test('users.link answers 201', async () => {
    const primary = await login();
    const secondary = await login();
    const res = await management.users.link(
      { id: primary.userId },
      { provider: 'server_custom_id', user_id: secondary.customId },
    );
    assert.equal(res.status, 201);
  });

  test('users.unlink', async () => {
    const steamId = unique('steam');
    const player = await login(undefined, { platform: 'steam', user_id: steamId });

    const { data, status } = await management.users.unlink({ id: player.userId, provider: 'steam', user_id: steamId });

    assert.equal(status, 200);
    assert.deepEqual(identityKeys(data), new Set([`server_custom_id|${player.customId}`]));
    const { data: user } = await management.users.get({ id: player.userId });
    assert.deepEqual(identityKeys(user.identities), new Set([`server_custom_id|${player.customId}`]));
  });

  test('users.get of an unknown user: ManagementApiError 404 inexistent_user', async () => {
    await assert.rejects(management.users.get({ id: '00000000-0000-4000-8000-000000000000' }), (err) =>
      assertManagementError(err, 404, 'inexistent_user'),
    );
  });

  test('a user token acting on another user: ManagementApiError 403 operation_not_permitted', async () => {
    const player = await login();
    const other = await login();
    const asPlayer = getManagementClient(player.token);
    await assert.rejects(asPlayer.users.get({ id: other.userId }), (err) =>
      assertManagementError(err, 403, 'operation_not_permitted'),
    );
  });

  test('a token without the scope: ManagementApiError 403 insufficient_scope', async () => {
    const player = await login();
    const loginOnly = getManagementClient(await serverToken('users:login'));
    await assert.rejects(
      loginOnly.users.link({ id: player.userId }, { provider: 'server_custom_id', user_id: player.customId }),
      (err) => {
        assertManagementError(err, 403, 'insufficient_scope');
        assert.match(err.message, /update:users/);
        return true;
      },
    );
  });

  test('users.delete answers 204; the user is then 404 and its custom ID makes a new user', async () => {
    const player = await login(undefined, { platform: 'steam', user_id: unique('steam') });

    const res = await management.users.delete({ id: player.userId });

    assert.equal(res.status, 204);
    await assert.rejects(management.users.get({ id: player.userId }), (err) =>
      assertManagementError(err, 404, 'inexistent_user'),
    );
    await assert.rejects(management.users.delete({ id: player.userId }), (err) =>
      assertManagementError(err, 404, 'inexistent_user'),
    );
    assert.notEqual((await login(player.customId)).userId, player.userId);
  });
  test('users.update merges metadata by Auth0 rules, and blocked stops logins until unblocked', async () => {
    const player = await login();
    await management.users.update(
      { id: player.userId },
      { app_metadata: { tier: 'gold', stats: { wins: 1 } }, user_metadata: { lang: 'de' } },
    );

    const { data: updated } = await management.users.update(
      { id: player.userId },
      { app_metadata: { stats: { wins: 2 }, tier: null }, user_metadata: {}, nickname: 'Renamed' },
    );

    assert.deepEqual(updated.app_metadata, { stats: { wins: 2 } });
    assert.deepEqual(updated.user_metadata, {});
    assert.equal(updated.nickname, 'Renamed');

    const { data: blocked } = await management.users.update({ id: player.userId }, { blocked: true });
    assert.equal(blocked.blocked, true);
    await assert.rejects(login(player.customId), /002-040/);

    const { data: unblocked } = await management.users.update({ id: player.userId }, { blocked: false });
    assert.equal(unblocked.blocked, false);
    assert.equal((await login(player.customId)).userId, player.userId);
  });

  test('users.update with a token without update:users: 403 insufficient_scope', async () => {
    const player = await login();
    const readOnly = getManagementClient(await serverToken('read:users'));
    await assert.rejects(readOnly.users.update({ id: player.userId }, { blocked: true }), (err) =>
      assertManagementError(err, 403, 'insufficient_scope'),
    );
  });
});
