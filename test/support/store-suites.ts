// The store's behaviour on every database (`functionalSuite`: PostgreSQL and PGlite from
// test/store.test.ts, MariaDB from test/store-mysql.test.ts, SQLite from test/store-sqlite.test.ts)
// and its proofs under concurrency as test/store-races.test.ts gives them on PostgreSQL, for
// MariaDB and SQLite (`raceSuite`). On SQLite the calls of a race go to
// different ORMs on one file (different connections); test/store-sqlite.test.ts adds processes.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  DuplicateEmailError,
  DuplicatePasskeyError,
  ExpiredRefreshTokenError,
  FullauthStoreError,
  GroupNotIncludedError,
  InactiveUserError,
  InvalidRefreshTokenError,
  LastLoginMethodError,
  NotFoundError,
  PasskeySignCountError,
  RefreshTokenReuseError,
  RevokedFamilyError,
  UnstorableTextError,
  ValueTooLongError,
  createFullauthStore,
  fastapiFullauthTokens,
  tokenDigest,
  type FullauthStore,
  type IssuedRefreshToken,
} from '../../src/index.js';
import { cleanUp, hex, storeTarget, type StoreKind } from './store-targets.js';
import { sequenceOf } from './mariadb.js';

const RUNS = 200;

export function functionalSuite(kind: StoreKind): void {
  afterEach(cleanUp);

  it('creates users with a normalised e-mail and refuses duplicates', async () => {
    const { store } = await storeTarget(kind);
    const user = await store.createUser({ email: '  Ann@Example.COM ', hashedPassword: 'h' });
    expect(user).toMatchObject({ email: 'ann@example.com', isActive: true, isVerified: false, isSuperuser: false, hashedPassword: 'h' });
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(await store.findUserByEmail('ANN@example.com')).toEqual(user);
    expect(await store.findUserById(user.id)).toEqual(user);
    await expect(store.createUser({ email: 'ann@EXAMPLE.com' })).rejects.toThrow(DuplicateEmailError);
  });

  it('issues, rotates, detects reuse, revokes and lists sessions', async () => {
    const now = { value: new Date('2026-01-01T00:00:00Z') };
    const { orm, sql, key } = await storeTarget(kind);
    const store = createFullauthStore(orm.em, { now: () => now.value });
    const user = await store.createUser({ email: 'rt@x.io', hashedPassword: 'h' });
    const first = await store.issueRefreshToken(user.id, { expiresIn: 3600, userAgent: 'x'.repeat(600), ipAddress: '1'.repeat(60) });
    const [stored] = await sql('select * from fullauth_refresh_tokens');
    expect(stored!).toMatchObject({ token: tokenDigest(first.token), family_id: first.familyId, user_id: key(user.id) });
    expect(Number(stored!.revoked)).toBe(0);
    expect((stored!.user_agent as string).length).toBe(512);
    expect((stored!.ip_address as string).length).toBe(45);
    expect(JSON.stringify(stored)).not.toContain(first.token);

    const second = await store.rotateRefreshToken(first.token);
    expect(second.familyId).toBe(first.familyId);
    expect(second.userId).toBe(user.id);
    const other = await store.issueRefreshToken(user.id);
    const sessions = await store.listSessions(user.id);
    expect(sessions.map((s) => s.familyId).sort()).toEqual([first.familyId, other.familyId].sort());
    expect(sessions.find((s) => s.familyId === first.familyId)).toMatchObject({ userAgent: null, startedAt: now.value });

    await expect(store.rotateRefreshToken(first.token)).rejects.toThrow(RefreshTokenReuseError);
    await expect(store.rotateRefreshToken(second.token)).rejects.toThrow(RefreshTokenReuseError);
    expect((await store.listSessions(user.id)).map((s) => s.familyId)).toEqual([other.familyId]);
    await expect(store.rotateRefreshToken('nope')).rejects.toThrow(InvalidRefreshTokenError);

    now.value = new Date(now.value.getTime() + 31 * 24 * 3600 * 1000);
    await expect(store.rotateRefreshToken(other.token)).rejects.toThrow(ExpiredRefreshTokenError);
    expect(await store.listSessions(user.id)).toEqual([]);

    const a = await store.issueRefreshToken(user.id);
    await store.issueRefreshToken(user.id);
    expect(await store.revokeAllExceptFamily(user.id, a.familyId)).toBe(2);
    expect((await store.listSessions(user.id)).map((s) => s.familyId)).toEqual([a.familyId]);
    const continued = await store.issueRefreshToken(user.id, { familyId: a.familyId });
    expect(continued.familyId).toBe(a.familyId);
    expect(await store.revokeSession(user.id, a.familyId)).toBe(true);
    await expect(store.issueRefreshToken(user.id, { familyId: a.familyId })).rejects.toThrow(RevokedFamilyError);
    expect(await store.revokeFamily(a.familyId)).toBe(0);
    await store.issueRefreshToken(user.id);
    await store.changePassword(user.id, 'new-hash');
    expect(await store.listSessions(user.id)).toEqual([]);
    expect((await store.findUserById(user.id))?.hashedPassword).toBe('new-hash');
    expect(await store.rehashPassword(user.id, 'new-hash', 'newer')).toBe(true);
    expect(await store.rehashPassword(user.id, 'new-hash', 'newest')).toBe(false);
    expect(await store.purgeExpiredTokens({ batchSize: 2 })).toBe(3);
  });

  it('deactivates, reactivates and deletes users', async () => {
    const { store, live, key } = await storeTarget(kind);
    const user = await store.createUser({ email: 'off@x.io' });
    const { token } = await store.issueRefreshToken(user.id);
    expect(await store.deactivateUser(user.id)).toBe(1);
    await expect(store.rotateRefreshToken(token)).rejects.toThrow(InactiveUserError);
    await expect(store.issueRefreshToken(user.id)).rejects.toThrow(InactiveUserError);
    await store.reactivateUser(user.id);
    const next = await store.issueRefreshToken(user.id);
    expect(await store.deleteUser(user.id)).toBe(true);
    expect(await store.deleteUser(user.id)).toBe(false);
    await expect(store.rotateRefreshToken(next.token)).rejects.toThrow(InvalidRefreshTokenError);
    expect(await live('user_id = ?', [key(user.id)])).toBe(0);
  });

  it('assigns roles, grants permissions, checks them with the superuser bypass, and syncs a map', async () => {
    const { store } = await storeTarget(kind, ['permission']);
    const ann = await store.createUser({ email: 'ann@x.io' });
    const root = await store.createUser({ email: 'root@x.io', isSuperuser: true });
    await store.assignRole(ann.id, 'editor');
    await store.assignRole(ann.id, 'editor');
    expect(await store.listRoles(ann.id)).toEqual(['editor']);
    await store.grantPermission('editor', 'articles:write');
    await store.grantPermission('editor', 'articles:write');
    expect(await store.hasRole(ann.id, 'editor')).toBe(true);
    expect(await store.hasRole(ann.id, 'admin')).toBe(false);
    expect(await store.hasPermission(ann.id, 'articles:write')).toBe(true);
    expect(await store.hasPermission(ann.id, 'articles:delete')).toBe(false);
    expect(await store.hasPermission(root.id, 'anything:at-all')).toBe(true);
    expect(await store.hasRole(root.id, 'whatever')).toBe(true);

    const map = { editor: ['articles:read', 'articles:write'], admin: ['users:manage'] };
    expect(await store.syncRoles(map)).toEqual({
      createdRoles: ['admin'],
      createdPermissions: ['users:manage', 'articles:read'],
      granted: ['admin → users:manage', 'editor → articles:read'],
      revoked: [],
    });
    expect(await store.syncRoles(map)).toEqual({ createdRoles: [], createdPermissions: [], granted: [], revoked: [] });
    expect(await store.syncRoles({ editor: ['articles:read'] })).toMatchObject({ revoked: ['editor → articles:write'] });
    expect(await store.hasPermission(ann.id, 'articles:write')).toBe(false);
    expect(await store.revokePermission('editor', 'articles:read')).toBe(true);
    expect(await store.revokePermission('editor', 'articles:read')).toBe(false);
    expect(await store.removeRole(ann.id, 'editor')).toBe(true);
    expect(await store.hasRole(ann.id, 'editor')).toBe(false);
    await store.deactivateUser(root.id);
    expect(await store.hasPermission(root.id, 'anything:at-all')).toBe(false);
  });

  it('links OAuth accounts idempotently and never unlinks the last way to log in', async () => {
    const { store } = await storeTarget(kind, ['oauth', 'passkey']);
    const user = await store.createUser({ email: 'o@x.io' });
    const expiresAt = new Date('2030-01-01T00:00:00Z');
    const given = { provider: 'github', providerUserId: '42', providerEmail: 'o@x.io', accessToken: 'at-1', refreshToken: 'rt-1', expiresAt };
    const first = await store.linkOAuthAccount({ userId: user.id, ...given });
    const again = await store.linkOAuthAccount({ userId: user.id, provider: 'github', providerUserId: '42' });
    expect(first.created).toBe(true);
    // Every column in its place (the returned row is read by position where the driver gives arrays).
    expect(first.account).toEqual({ id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-/), userId: user.id, ...given, createdAt: expect.any(Date) });
    expect(again).toEqual({ account: first.account, created: false });
    expect(await store.findOAuthAccount('github', '42')).toEqual(first.account);
    await expect(store.unlinkOAuthAccount(user.id, 'github')).rejects.toThrow(LastLoginMethodError);
    await store.linkOAuthAccount({ userId: user.id, provider: 'google', providerUserId: 'g1' });
    await store.unlinkOAuthAccount(user.id, 'github');
    await expect(store.unlinkOAuthAccount(user.id, 'google')).rejects.toThrow(LastLoginMethodError);
    await store.registerPasskey({ userId: user.id, credentialId: 'c1', publicKey: 'pk' });
    await store.unlinkOAuthAccount(user.id, 'google');
    expect(await store.findOAuthAccount('google', 'g1')).toBeNull();
    await expect(store.unlinkOAuthAccount(user.id, 'google')).rejects.toThrow(NotFoundError);
  });

  it('records passkey uses with a sign count that only grows', async () => {
    const { store } = await storeTarget(kind, ['passkey']);
    const user = await store.createUser({ email: 'pk@x.io' });
    const key = await store.registerPasskey({ userId: user.id, credentialId: 'cred', publicKey: 'pk', transports: ['internal', 'hybrid'], backedUp: true });
    expect(key).toMatchObject({ userId: user.id, signCount: 0, transports: 'internal,hybrid', deviceName: '', lastUsedAt: null, backedUp: true });
    expect((await store.recordPasskeyUse('cred', 5)).signCount).toBe(5);
    await expect(store.recordPasskeyUse('cred', 5)).rejects.toThrow(PasskeySignCountError);
    await expect(store.recordPasskeyUse('cred', 3)).rejects.toThrow(/stored 5, reported 3/);
    expect((await store.recordPasskeyUse('cred', 0)).signCount).toBe(5);
    expect((await store.findPasskey('cred'))?.signCount).toBe(5);
    await expect(store.recordPasskeyUse('nope', 1)).rejects.toThrow(NotFoundError);
  });

  if (kind === 'postgres' || kind === 'mariadb' || kind === 'mysql') {
    const where = kind === 'postgres' ? 'a LATIN1 database' : 'latin1 columns (fastapi-fullauth makes its tables so on a server whose default is latin1)';
    it(`keeps lookups exact where text is not stored as Unicode (${where}): a text the columns cannot hold is found nowhere and written nowhere`, async () => {
      const { store, sql } = await storeTarget(kind, ['permission', 'oauth', 'passkey'], kind === 'postgres' ? { encoding: 'LATIN1' } : {});
      if (kind !== 'postgres') {
        for (const [table, columns] of [
          ['fullauth_users', ['email varchar(320)']],
          ['fullauth_oauth_accounts', ['provider varchar(50)', 'provider_user_id varchar(320)']],
          ['fullauth_passkeys', ['credential_id varchar(512)']],
          ['fullauth_roles', ['name varchar(100)']],
          ['fullauth_permissions', ['name varchar(200)']],
          ['fullauth_refresh_tokens', ['family_id varchar(36)']],
        ] as const) {
          await sql(`alter table ${table} ${columns.map((c) => `modify ${c} character set latin1 not null`).join(', ')}`);
        }
      }
      // Text that latin1 holds is found exactly, by itself and not by a look-alike.
      const ann = await store.createUser({ email: 'Änn@Exämple.com' });
      expect((await store.findUserByEmail('änn@exämple.com'))?.id).toBe(ann.id);
      expect(await store.findUserByEmail('ann@example.com')).toBeNull();
      const linked = await store.linkOAuthAccount({ userId: ann.id, provider: 'oidc', providerUserId: 'Jürgen' });
      expect(linked.created).toBe(true);
      expect(await store.linkOAuthAccount({ userId: ann.id, provider: 'oidc', providerUserId: 'Jürgen' })).toEqual({ created: false, account: linked.account });
      expect(await store.findOAuthAccount('oidc', 'Jürgen')).toEqual(linked.account);
      expect(await store.findOAuthAccount('oidc', 'Jurgen')).toBeNull();
      await store.registerPasskey({ userId: ann.id, credentialId: 'çred', publicKey: 'pk', signCount: 1 });
      expect((await store.recordPasskeyUse('çred', 2)).signCount).toBe(2);
      await store.grantPermission('rédacteur', 'articles:écrire');
      await store.assignRole(ann.id, 'rédacteur');
      expect(await store.hasPermission(ann.id, 'articles:écrire')).toBe(true);

      // Text that latin1 cannot hold ('ł', an emoji) is in no row: lookups and removals find nothing…
      expect(await store.findUserByEmail('łukasz@example.com')).toBeNull();
      expect(await store.findOAuthAccount('oidc', 'Łukasz')).toBeNull();
      expect(await store.findPasskey('cred-ł')).toBeNull();
      await expect(store.recordPasskeyUse('cred-ł', 3)).rejects.toThrow(NotFoundError);
      await expect(store.unlinkOAuthAccount(ann.id, 'łidc')).rejects.toThrow(NotFoundError);
      expect(await store.hasRole(ann.id, 'łódź')).toBe(false);
      expect(await store.hasPermission(ann.id, 'łódź:read')).toBe(false);
      expect(await store.removeRole(ann.id, 'łódź')).toBe(false);
      expect(await store.revokePermission('łódź', 'articles:écrire')).toBe(false);
      // A family id the column cannot hold is no session: nothing to revoke, nothing to continue.
      const session = await store.issueRefreshToken(ann.id);
      expect(await store.revokeFamily('łódź')).toBe(0);
      expect(await store.revokeSession(ann.id, 'łódź')).toBe(false);
      await expect(store.issueRefreshToken(ann.id, { familyId: 'łódź' })).rejects.toThrow(NotFoundError);
      expect((await store.listSessions(ann.id)).map((s) => s.familyId)).toEqual([session.familyId]);
      expect(await store.revokeAllExceptFamily(ann.id, 'łódź')).toBe(1);
      expect(await store.listSessions(ann.id)).toEqual([]);
      // …and writes are refused with an error that names the cause and the fix, writing nothing.
      const writes = [
        () => store.createUser({ email: 'łukasz@example.com' }),
        () => store.linkOAuthAccount({ userId: ann.id, provider: 'oidc', providerUserId: 'Łukasz' }),
        () => store.registerPasskey({ userId: ann.id, credentialId: '😀', publicKey: 'pk' }),
        () => store.assignRole(ann.id, 'łódź'),
        () => store.grantPermission('rédacteur', 'łódź:read'),
      ];
      for (const write of writes) {
        const error = await write().then(() => undefined, (thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(UnstorableTextError);
        // (On MikroORM 6 the database's message quotes the statement, over several lines.)
        expect(String(error)).toMatch(/character set cannot hold.*nothing was written.*CONVERT TO CHARACTER SET utf8mb4/s);
      }
      const count = async (table: string) => Number((await sql(`select count(*) as n from ${table}`))[0]!.n);
      expect([await count('fullauth_users'), await count('fullauth_oauth_accounts'), await count('fullauth_passkeys')]).toEqual([1, 1, 1]);
      expect([await count('fullauth_roles'), await count('fullauth_permissions'), await count('fullauth_user_roles')]).toEqual([1, 1, 1]);
    });
  }

  it('holds a long text column\'s value whole or refuses it before any SQL: MySQL/MariaDB\'s TEXT takes 65,535 bytes, the others more', async () => {
    const { store, sql, key } = await storeTarget(kind, ['oauth', 'passkey']);
    const limited = kind === 'mariadb' || kind === 'mysql';
    const fits = `a${'é'.repeat(32_767)}`; // 65,535 bytes in UTF-8
    const over = 'é'.repeat(32_768); // 65,536 bytes, 32,768 characters
    const user = await store.createUser({ email: 'long@example.com', hashedPassword: fits });
    expect((await store.findUserById(user.id))?.hashedPassword).toBe(fits);
    const writes = {
      'createUser hashedPassword': () => store.createUser({ email: 'long2@example.com', hashedPassword: over }),
      'changePassword hashedPassword': () => store.changePassword(user.id, over),
      'rehashPassword newHash': () => store.rehashPassword(user.id, fits, over),
      'linkOAuthAccount accessToken': () => store.linkOAuthAccount({ userId: user.id, provider: 'a', providerUserId: '1', accessToken: over }),
      'linkOAuthAccount refreshToken': () => store.linkOAuthAccount({ userId: user.id, provider: 'b', providerUserId: '1', refreshToken: over }),
      'registerPasskey publicKey': () => store.registerPasskey({ userId: user.id, credentialId: 'long', publicKey: over }),
    };
    for (const [name, write] of Object.entries(writes)) {
      const outcome = await write().then(() => 'written', (error: unknown) => error);
      if (limited) {
        expect(outcome, name).toBeInstanceOf(ValueTooLongError);
        expect(outcome).toMatchObject({ argument: name.split(' ')[1], limit: 65_535, unit: 'bytes' });
        expect(String(outcome)).toContain('at most 65535 bytes in UTF-8: a TEXT column of MySQL/MariaDB');
      } else {
        expect(outcome, name).not.toBeInstanceOf(Error);
      }
    }
    const [row] = await sql('select hashed_password from fullauth_users where id = ?', [key(user.id)]);
    // Refused writes wrote nothing; where they ran, the value arrived whole.
    expect(row!.hashed_password).toBe(limited ? fits : over);
    if (!limited) expect((await store.findPasskey('long'))?.publicKey).toBe(over);
  });

  it('takes a user id in upper case as the same user: what it hands on is the id as stored, so the token refreshes and the session continues', async () => {
    const { store } = await storeTarget(kind, [], { store: { tokens: fastapiFullauthTokens({ secretKey: 'a-secret-of-at-least-32-characters!' }) } });
    const user = await store.createUser({ email: 'upper@example.com' });
    const upper = user.id.toUpperCase();
    expect((await store.findUserById(upper))?.id).toBe(user.id);
    const issued = await store.issueRefreshToken(upper);
    expect(issued.userId).toBe(user.id);
    expect(JSON.parse(Buffer.from(issued.token.split('.')[1]!, 'base64url').toString()).sub).toBe(user.id);
    const rotated = await store.rotateRefreshToken(issued.token);
    expect(rotated).toMatchObject({ userId: user.id, familyId: issued.familyId });
    const continued = await store.issueRefreshToken(upper, { familyId: issued.familyId });
    expect(continued).toMatchObject({ userId: user.id, familyId: issued.familyId });
    const access = await store.issueAccessToken(upper);
    expect((await store.authenticate(access.token)).user.id).toBe(user.id);
    expect(await store.revokeSession(upper, issued.familyId)).toBe(true);
  });

  it('finds an identity only by its exact text: a look-alike e-mail, OAuth id or passkey credential (case, accents, ß, a trailing space) never reaches another user; role and permission checks are exact', async () => {
    // MariaDB's and MySQL's default collations compare text ignoring case and accents (MySQL's
    // also ß = ss): there `email = 'ann@exämple.com'` finds ann@example.com. The store's lookups
    // are exact on every database; the unique indexes are the database's own.
    const holdsEqual = kind === 'mariadb' || kind === 'mysql';
    const { store, sql, key } = await storeTarget(kind, ['permission', 'oauth', 'passkey']);
    const ann = await store.createUser({ email: 'ann@example.com' });
    await store.createUser({ email: 'strasse@example.com' });
    for (const lookAlike of ['ann@exämple.com', 'änn@example.com', 'ann@examplé.com', 'straße@example.com']) {
      expect(await store.findUserByEmail(lookAlike)).toBeNull();
    }
    expect((await store.findUserByEmail('ann@example.com'))?.id).toBe(ann.id);
    // rehashPassword's compare-and-set takes only the stored hash itself, not another case of it.
    const hash = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdFNBTFQ$aGFzaEhBU0g';
    const withHash = await store.createUser({ email: 'hash@example.com', hashedPassword: hash });
    expect(await store.rehashPassword(withHash.id, hash.toLowerCase(), 'replaced')).toBe(false);
    expect((await store.findUserById(withHash.id))?.hashedPassword).toBe(hash);
    expect(await store.rehashPassword(withHash.id, hash, 'replaced')).toBe(true);

    const victim = (await store.linkOAuthAccount({ userId: ann.id, provider: 'oidc', providerUserId: 'Alice' })).account;
    // 'Alice ': MariaDB's default collation pads with spaces, so there it equals 'Alice'.
    for (const [provider, id] of [['oidc', 'alice'], ['oidc', 'ALICE'], ['oidc', 'Alíce'], ['OIDC', 'Alice'], ['oidc', 'Alice '], ['oidc ', 'Alice']] as const) {
      expect(await store.findOAuthAccount(provider, id)).toBeNull();
    }
    expect(await store.findOAuthAccount('oidc', 'Alice')).toEqual(victim);
    // An attacker's provider account whose id differs from the victim's only in case is linked to
    // the attacker where the database tells them apart, and refused where it holds them equal:
    // never is the victim's account handed back as the attacker's link.
    const mallory = await store.createUser({ email: 'mallory@example.com' });
    const outcome = await store.linkOAuthAccount({ userId: mallory.id, provider: 'oidc', providerUserId: 'alice' }).then(
      (linked) => linked,
      (error: unknown) => error,
    );
    if (holdsEqual) {
      expect(outcome).toBeInstanceOf(ConflictError);
      expect(String(outcome)).toMatch(/oidc account alice could not be linked: the database holds another account whose provider and id it compares as equal \(its collation ignores case and accents\)/);
      // Nothing of the other user's account is told.
      expect(String(outcome)).not.toContain('Alice');
    } else {
      expect(outcome).toMatchObject({ created: true, account: { userId: mallory.id, providerUserId: 'alice' } });
    }
    await expect(store.unlinkOAuthAccount(ann.id, 'OIDC')).rejects.toThrow(NotFoundError);
    expect(await store.findOAuthAccount('oidc', 'Alice')).toEqual(victim);

    await store.registerPasskey({ userId: ann.id, credentialId: 'AbC-_x', publicKey: 'pk', signCount: 7 });
    for (const lookAlike of ['abc-_x', 'ABC-_X', 'ÀbC-_x', 'AbC-_x ']) {
      expect(await store.findPasskey(lookAlike)).toBeNull();
      // A use recorded under a look-alike credential id is refused and changes no row.
      await expect(store.recordPasskeyUse(lookAlike, 100)).rejects.toThrow(NotFoundError);
      await expect(store.recordPasskeyUse(lookAlike, 0)).rejects.toThrow(NotFoundError);
    }
    const [stored] = await sql('select sign_count, last_used_at from fullauth_passkeys where user_id = ?', [key(ann.id)]);
    expect(Number(stored!.sign_count)).toBe(7);
    expect(stored!.last_used_at).toBeNull();
    expect((await store.recordPasskeyUse('AbC-_x', 8)).signCount).toBe(8);

    // The unique indexes are the database's: where it holds two texts equal, only one can exist.
    if (holdsEqual) {
      await expect(store.createUser({ email: 'ann@exämple.com' })).rejects.toThrow(DuplicateEmailError);
      await expect(store.registerPasskey({ userId: mallory.id, credentialId: 'abc-_x', publicKey: 'pk' })).rejects.toThrow(DuplicatePasskeyError);
    } else {
      expect((await store.createUser({ email: 'ann@exämple.com' })).id).not.toBe(ann.id);
      expect((await store.registerPasskey({ userId: mallory.id, credentialId: 'abc-_x', publicKey: 'pk' })).userId).toBe(mallory.id);
    }
    expect((await store.findUserByEmail('ann@example.com'))?.id).toBe(ann.id);
    expect((await store.findPasskey('AbC-_x'))?.userId).toBe(ann.id);

    // Role and permission checks compare names exactly too, as fastapi-fullauth's require_role and
    // require_permission do (in Python), and so does removeRole (its remove_role).
    await store.grantPermission('editor', 'articles:write');
    await store.assignRole(ann.id, 'editor');
    for (const lookAlike of ['Editor', 'EDITOR', 'éditor', 'editor ']) {
      expect(await store.hasRole(ann.id, lookAlike)).toBe(false);
      expect(await store.removeRole(ann.id, lookAlike)).toBe(false);
    }
    expect(await store.hasPermission(ann.id, 'Articles:Write')).toBe(false);
    expect(await store.hasPermission(ann.id, 'articles:write ')).toBe(false);
    expect([await store.hasRole(ann.id, 'editor'), await store.hasPermission(ann.id, 'articles:write')]).toEqual([true, true]);
    // Assigning finds the role as the database compares (its unique index makes look-alikes one
    // role there), as fastapi-fullauth's assign_role does: the role is then held by its stored name.
    await store.assignRole(mallory.id, 'EDITOR');
    expect(await store.listRoles(mallory.id)).toEqual([holdsEqual ? 'editor' : 'EDITOR']);
    expect(await store.hasRole(mallory.id, 'EDITOR')).toBe(!holdsEqual);
  });

  it('turns every database failure into a typed store error', async () => {
    const { store } = await storeTarget(kind, ['oauth', 'passkey']);
    const user = await store.createUser({ email: 'typed@x.io' });
    const missing = '01900000-0000-7000-8000-000000000000';
    await expect(store.issueRefreshToken(missing)).rejects.toThrow(NotFoundError);
    await expect(store.linkOAuthAccount({ userId: missing, provider: 'github', providerUserId: '1' })).rejects.toThrow(NotFoundError);
    await expect(store.registerPasskey({ userId: missing, credentialId: 'x', publicKey: 'pk' })).rejects.toThrow(NotFoundError);
    await store.registerPasskey({ userId: user.id, credentialId: 'same', publicKey: 'pk' });
    await expect(store.registerPasskey({ userId: user.id, credentialId: 'same', publicKey: 'pk' })).rejects.toThrow(DuplicatePasskeyError);
    expect(await store.findUserById('not-a-uuid')).toBeNull();
    await expect(store.hasRole('not-a-uuid', 'x')).rejects.toThrow(GroupNotIncludedError);
    await expect(store.revokeAllForUser('not-a-uuid')).rejects.toBeInstanceOf(FullauthStoreError);
  });

  it('purges 20,000 expired tokens in one batch, and syncs a role of 300 permissions', async () => {
    const { store, sql, key } = await storeTarget(kind, ['permission']);
    const user = await store.createUser({ email: 'many@x.io' });
    const live = await store.issueRefreshToken(user.id);
    await sql(
      kind === 'postgres' || kind === 'pglite'
        ? `insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, created_at)
           select gen_random_uuid(), 't' || n, ?, 'f', '2020-01-01 00:00:00+00', false, '2020-01-01 00:00:00+00' from generate_series(1, 20000) n`
        : kind === 'mariadb' || kind === 'mysql'
        ? `insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, created_at)
           select lpad(hex(seq), 32, '0'), concat('t', seq), ?, 'f', '2020-01-01 00:00:00', 0, '2020-01-01 00:00:00' from ${sequenceOf(20_000)}`
        : `insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, created_at)
           with recursive s(n) as (select 1 union all select n + 1 from s where n < 20000)
           select printf('%032x', n), 't' || n, ?, 'f', '2020-01-01 00:00:00.000000', 0, '2020-01-01 00:00:00.000000' from s`,
      [key(user.id)],
    );
    expect(await store.purgeExpiredTokens({ batchSize: 100_000 })).toBe(20_000);
    expect((await store.listSessions(user.id)).map((s) => s.familyId)).toEqual([live.familyId]);
    const perms = Array.from({ length: 300 }, (_, i) => `p:${i}`);
    expect((await store.syncRoles({ big: perms })).granted).toHaveLength(300);
    expect((await store.syncRoles({ big: perms.slice(0, 123) })).revoked).toHaveLength(177);
    expect(await store.hasPermission(user.id, 'p:5')).toBe(false);
    await store.assignRole(user.id, 'big');
    expect(await store.hasPermission(user.id, 'p:122')).toBe(true);
    expect(await store.hasPermission(user.id, 'p:123')).toBe(false);
  });

  it("joins the caller's transaction", async () => {
    const { orm, store } = await storeTarget(kind, ['role']);
    await orm.em
      .fork()
      .transactional(async (em) => {
        const inTransaction = createFullauthStore(em);
        const user = await inTransaction.createUser({ email: 'tx@x.io' });
        await inTransaction.issueRefreshToken(user.id);
        await inTransaction.assignRole(user.id, 'editor');
        expect(await inTransaction.listRoles(user.id)).toEqual(['editor']);
        expect(await inTransaction.findUserByEmail('tx@x.io')).not.toBeNull();
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await store.findUserByEmail('tx@x.io')).toBeNull();
  });
}

/** Only the errors a serial order could give: a revoked (reused) token, or one of a deactivated or deleted user. */
function expectSerialRefusal(result: PromiseSettledResult<unknown>) {
  if (result.status === 'fulfilled') return;
  expect(result.reason).toBeInstanceOf(FullauthStoreError);
  if (![RefreshTokenReuseError, InactiveUserError, InvalidRefreshTokenError].some((E) => result.reason instanceof E)) throw result.reason;
}

/** After the revocation returned: the rotated successor (if any) can never be rotated again. */
async function expectDead(store: FullauthStore, rotated: PromiseSettledResult<IssuedRefreshToken>) {
  if (rotated.status !== 'fulfilled') return 0;
  const again = await Promise.allSettled([store.rotateRefreshToken(rotated.value.token)]);
  expect(again[0]!.status).toBe('rejected');
  return 1;
}

export function raceSuite(kind: StoreKind, where: string): void {
  afterEach(cleanUp);
  roleRaces(kind, where);

  /** Two stores on different connections (SQLite: different ORMs on the file; MariaDB: one pool). */
  async function setup(include: Parameters<typeof storeTarget>[1] = []) {
    const target = await storeTarget(kind, include);
    const [a, b = a] = target.stores;
    return { ...target, a: a!, b: b! };
  }

  describe(`revocation against rotation ${where} (${RUNS} races each)`, () => {
    it('revokeAllForUser ∥ rotateRefreshToken: 0 live tokens, every time', async () => {
      const { a, b, live } = await setup();
      const user = await a.createUser({ email: 'all@x.io' });
      let survivors = 0;
      let rotatedFirst = 0;
      for (let i = 0; i < RUNS; i++) {
        const { token } = await a.issueRefreshToken(user.id);
        // The revocation starts 0, 3, 6 or 9 ms later: rotation (a JWT verified and one signed
        // before its transaction) then wins some races on every driver, however fast its revocation starts.
        const later = new Promise((resolve) => setTimeout(resolve, (i % 4) * 3));
        const [rotated, revoked] = await Promise.allSettled([a.rotateRefreshToken(token), later.then(() => b.revokeAllForUser(user.id))]);
        expect(revoked.status).toBe('fulfilled');
        expectSerialRefusal(rotated);
        rotatedFirst += await expectDead(a, rotated);
        survivors += (await live('user_id = ?', [hex(user.id)])) > 0 ? 1 : 0;
      }
      expect(survivors).toBe(0);
      expect(rotatedFirst).toBeGreaterThan(0);
    });

    it('changePassword ∥ rotateRefreshToken: 0 live tokens, and the attacker cannot rotate afterwards', async () => {
      const { a, b, live } = await setup();
      const user = await a.createUser({ email: 'pw@x.io', hashedPassword: 'old' });
      let survivors = 0;
      for (let i = 0; i < RUNS; i++) {
        const { token } = await a.issueRefreshToken(user.id);
        const [rotated, changed] = await Promise.allSettled([a.rotateRefreshToken(token), b.changePassword(user.id, `h${i}`)]);
        expect(changed.status).toBe('fulfilled');
        expectSerialRefusal(rotated);
        if (rotated.status === 'fulfilled') {
          const twice = await Promise.allSettled([a.rotateRefreshToken(rotated.value.token), b.rotateRefreshToken(rotated.value.token)]);
          expect(twice.every((r) => r.status === 'rejected')).toBe(true);
        }
        survivors += (await live('user_id = ?', [hex(user.id)])) > 0 ? 1 : 0;
      }
      expect(survivors).toBe(0);
    });

    it('revokeFamily (logout) ∥ rotateRefreshToken: 0 live tokens in the family', async () => {
      const { a, b, live } = await setup();
      const user = await a.createUser({ email: 'fam@x.io' });
      let survivors = 0;
      for (let i = 0; i < RUNS; i++) {
        const { token, familyId } = await a.issueRefreshToken(user.id);
        const [rotated, revoked] = await Promise.allSettled([a.rotateRefreshToken(token), b.revokeFamily(familyId)]);
        expect(revoked.status).toBe('fulfilled');
        expectSerialRefusal(rotated);
        await expectDead(a, rotated);
        survivors += (await live('family_id = ?', [familyId])) > 0 ? 1 : 0;
      }
      expect(survivors).toBe(0);
    });

    it('revokeFamily ∥ issueRefreshToken into that family: 0 live tokens in the family', async () => {
      const { a, b, live } = await setup();
      const user = await a.createUser({ email: 'continue@x.io' });
      let survivors = 0;
      for (let i = 0; i < RUNS; i++) {
        const { familyId } = await a.issueRefreshToken(user.id);
        const [issued, revoked] = await Promise.allSettled([a.issueRefreshToken(user.id, { familyId }), b.revokeFamily(familyId)]);
        expect(revoked.status).toBe('fulfilled');
        if (issued.status === 'rejected') expect(issued.reason).toBeInstanceOf(RevokedFamilyError);
        survivors += (await live('family_id = ?', [familyId])) > 0 ? 1 : 0;
      }
      expect(survivors).toBe(0);
    });

    it('a replayed spent token (reuse detection) ∥ rotation of its successor: 0 live tokens in the family', async () => {
      const { a, b, live } = await setup();
      const user = await a.createUser({ email: 'reuse@x.io' });
      let survivors = 0;
      for (let i = 0; i < RUNS; i++) {
        const first = await a.issueRefreshToken(user.id);
        const second = await a.rotateRefreshToken(first.token);
        const [replayed, rotated] = await Promise.allSettled([b.rotateRefreshToken(first.token), a.rotateRefreshToken(second.token)]);
        expect(replayed.status).toBe('rejected');
        expect((replayed as PromiseRejectedResult).reason).toBeInstanceOf(RefreshTokenReuseError);
        expectSerialRefusal(rotated);
        await expectDead(a, rotated);
        survivors += (await live('family_id = ?', [first.familyId])) > 0 ? 1 : 0;
      }
      expect(survivors).toBe(0);
    });

    it('deactivateUser ∥ rotateRefreshToken: 0 live tokens, and the user cannot refresh or log in afterwards', async () => {
      const { a, b, live } = await setup();
      const user = await a.createUser({ email: 'off@x.io' });
      let survivors = 0;
      for (let i = 0; i < RUNS; i++) {
        const { token } = await a.issueRefreshToken(user.id);
        const [rotated, deactivated] = await Promise.allSettled([a.rotateRefreshToken(token), b.deactivateUser(user.id)]);
        expect(deactivated.status).toBe('fulfilled');
        expectSerialRefusal(rotated);
        if (rotated.status === 'fulfilled') await expect(a.rotateRefreshToken(rotated.value.token)).rejects.toBeInstanceOf(InactiveUserError);
        await expect(a.issueRefreshToken(user.id)).rejects.toBeInstanceOf(InactiveUserError);
        survivors += (await live('user_id = ?', [hex(user.id)])) > 0 ? 1 : 0;
        await b.reactivateUser(user.id);
      }
      expect(survivors).toBe(0);
    });

    it('deleteUser ∥ rotateRefreshToken: no token of the user is left', async () => {
      const { a, b, sql } = await setup();
      let left = 0;
      for (let i = 0; i < RUNS; i++) {
        const user = await a.createUser({ email: `gone${i}@x.io` });
        const { token } = await a.issueRefreshToken(user.id);
        const [rotated, deleted] = await Promise.allSettled([a.rotateRefreshToken(token), b.deleteUser(user.id)]);
        expect(deleted).toEqual({ status: 'fulfilled', value: true });
        expectSerialRefusal(rotated);
        await expectDead(a, rotated);
        left += Number((await sql('select count(*) as n from fullauth_refresh_tokens where user_id = ?', [hex(user.id)]))[0]!.n);
      }
      expect(left).toBe(0);
    });

    it('purgeExpiredTokens ∥ revocations: nothing refused', async () => {
      const { a, b } = await setup();
      const failures: string[] = [];
      for (let i = 0; i < 30; i++) {
        const victim = (await a.createUser({ email: `v${i}@x.io` })).id;
        for (let j = 0; j < 10; j++) await a.issueRefreshToken(victim, { expiresAt: new Date(Date.now() + 1000) });
        const purgeAt = new Date(Date.now() + 5000);
        const revoke = [() => b.revokeAllForUser(victim), () => b.deactivateUser(victim), () => b.deleteUser(victim)][i % 3]!;
        const results = await Promise.allSettled([revoke(), a.purgeExpiredTokens({ batchSize: 3, before: purgeAt })]);
        for (const r of results) if (r.status === 'rejected') failures.push(String(r.reason));
      }
      expect(failures).toEqual([]);
    });
  });

  describe(`the store under concurrency ${where}`, () => {
    it('50 parallel rotations of one token, 10 times: exactly one winner, and the family revoked', async () => {
      const { stores, live } = await setup();
      const user = await stores[0]!.createUser({ email: 'fifty@x.io' });
      for (let i = 0; i < 10; i++) {
        const { token, familyId } = await stores[0]!.issueRefreshToken(user.id);
        const results = await Promise.allSettled(Array.from({ length: 50 }, (_, n) => stores[n % stores.length]!.rotateRefreshToken(token)));
        const lost = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
        for (const reason of lost) if (!(reason instanceof RefreshTokenReuseError)) throw reason;
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(await live('family_id = ?', [familyId])).toBe(0);
      }
    });

    it('20 parallel sign-ups with the same e-mail in different cases: exactly one user', async () => {
      const { stores, sql } = await setup();
      const emails = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'Same@Example.com' : ` same@example.COM${' '.repeat(i % 3)}`));
      const results = await Promise.allSettled(emails.map((email, n) => stores[n % stores.length]!.createUser({ email })));
      const lost = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
      for (const reason of lost) if (!(reason instanceof DuplicateEmailError)) throw reason;
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(Number((await sql('select count(*) as n from fullauth_users'))[0]!.n)).toBe(1);
    });

    it('parallel OAuth links: one row, every caller gets it', async () => {
      const { stores, sql } = await setup(['oauth']);
      const user = await stores[0]!.createUser({ email: 'link@x.io' });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, n) => stores[n % stores.length]!.linkOAuthAccount({ userId: user.id, provider: 'github', providerUserId: '7' })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.account.id)).size).toBe(1);
      expect(Number((await sql('select count(*) as n from fullauth_oauth_accounts'))[0]!.n)).toBe(1);
    });

    it('rehashPassword ∥ changePassword on another connection, 50 times: the password change always wins', async () => {
      const { a, b } = await setup();
      const user = await a.createUser({ email: 'rehash@x.io', hashedPassword: 'h0' });
      for (let i = 0; i < 50; i++) {
        const current = (await a.findUserById(user.id))!.hashedPassword!;
        await Promise.all([a.rehashPassword(user.id, current, `rehash${i}`), b.changePassword(user.id, `changed${i}`)]);
        expect((await b.findUserById(user.id))?.hashedPassword).toBe(`changed${i}`);
      }
    });

    it("parallel links of look-alike OAuth ids (case, accents) by 8 users, 10 rounds: no caller is handed another user's account", async () => {
      const { stores, sql } = await setup(['oauth']);
      // MariaDB and MySQL hold the variants equal (one can exist), the others tell them apart.
      const holdsEqual = kind === 'mariadb' || kind === 'mysql';
      const variants = ['Alice', 'alice', 'ALICE', 'Alíce', 'ALÍCE', 'alicE', 'aLice', 'alíce'];
      const users = await Promise.all(variants.map((_, n) => stores[0]!.createUser({ email: `look${n}@x.io` })));
      for (let round = 0; round < 10; round++) {
        const provider = `oidc${round}`;
        const outcomes = await Promise.all(
          variants.map((providerUserId, n) =>
            stores[n % stores.length]!.linkOAuthAccount({ userId: users[n]!.id, provider, providerUserId }).then(
              (linked) => linked,
              (error: unknown) => error,
            ),
          ),
        );
        const linked = outcomes.filter((outcome, n) => {
          if (outcome instanceof Error) {
            expect(holdsEqual).toBe(true);
            expect(outcome).toBeInstanceOf(ConflictError);
            expect(outcome.message).toMatch(/compares as equal/);
            return false;
          }
          expect(outcome).toMatchObject({ created: true, account: { userId: users[n]!.id, providerUserId: variants[n] } });
          return true;
        });
        expect(linked).toHaveLength(holdsEqual ? 1 : variants.length);
        expect(Number((await sql('select count(*) as n from fullauth_oauth_accounts where provider = ?', [provider]))[0]!.n)).toBe(linked.length);
      }
    });

    it('parallel passkey uses: the sign count never decreases', async () => {
      const { stores, sql, kind: k } = await setup(['passkey']);
      const user = await stores[0]!.createUser({ email: 'sc@x.io' });
      await stores[0]!.registerPasskey({ userId: user.id, credentialId: 'c', publicKey: 'pk' });
      // The database records every change of the count, in commit order.
      await sql('create table sign_audit (old_count int, new_count int)');
      await sql(
        k === 'mariadb' || k === 'mysql'
          ? 'create trigger audit_sign after update on fullauth_passkeys for each row insert into sign_audit values (old.sign_count, new.sign_count)'
          : 'create trigger audit_sign after update on fullauth_passkeys for each row begin insert into sign_audit values (old.sign_count, new.sign_count); end',
      );
      const counts = Array.from({ length: 40 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
      const results = await Promise.allSettled(counts.map((count, n) => stores[n % stores.length]!.recordPasskeyUse('c', count)));
      const accepted = results.filter((r) => r.status === 'fulfilled').length;
      const lost = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as unknown);
      for (const reason of lost) if (!(reason instanceof PasskeySignCountError)) throw reason;
      expect((await stores[0]!.findPasskey('c'))?.signCount).toBe(40);
      const audit = await sql('select * from sign_audit');
      expect(audit).toHaveLength(accepted);
      expect(audit.filter((a) => Number(a.new_count) <= Number(a.old_count))).toEqual([]);
    });

    it('parallel unlinks never remove the last way to log in', async () => {
      const { a, b } = await setup(['oauth']);
      const user = await a.createUser({ email: 'two@x.io' });
      await a.linkOAuthAccount({ userId: user.id, provider: 'a', providerUserId: '1' });
      await a.linkOAuthAccount({ userId: user.id, provider: 'b', providerUserId: '1' });
      const results = await Promise.allSettled([a.unlinkOAuthAccount(user.id, 'a'), b.unlinkOAuthAccount(user.id, 'b')]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(LastLoginMethodError);
    });

    it('concurrent syncRoles from several instances: every sync succeeds and one map is applied whole, 10 rounds', async () => {
      const target = await storeTarget(kind, ['permission'], { orms: 4, pool: 2 });
      const state = async () => {
        const rows = await target.sql(
          `select r.name as role, p.name as perm from fullauth_roles r join fullauth_role_permissions rp on rp.role_id = r.id
           join fullauth_permissions p on p.id = rp.permission_id order by 1, 2`,
        );
        const map: Record<string, string[]> = {};
        for (const row of rows) (map[String(row.role)] ??= []).push(String(row.perm));
        return map;
      };
      const applied = (now: Record<string, string[]>, map: Record<string, string[]>) =>
        Object.entries(map).every(([role, perms]) => JSON.stringify(now[role] ?? []) === JSON.stringify([...perms].sort()));
      for (let round = 0; round < 10; round++) {
        const maps = target.stores.map((_, i) => ({
          editor: i % 2 ? ['articles:read', 'articles:write'] : ['articles:read'],
          admin: i % 2 ? ['users:manage'] : ['users:manage', 'articles:delete', `round:${round}`],
          [`role${i}`]: [`perm${i}`, 'articles:read'],
        }));
        const results = await Promise.allSettled(target.stores.map((store, i) => store.syncRoles(maps[i]!)));
        expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        const now = await state();
        expect(maps.some((map) => applied(now, map))).toBe(true);
      }
    });
  });
}

/**
 * Roles and grants raced: many callers give new roles and permissions at once (each a row
 * that does not exist yet, then one that does), and a role assignment races the user's
 * deletion. Also run on PostgreSQL (test/store-races.test.ts).
 */
export function roleRaces(kind: StoreKind, where: string): void {
  describe(`roles and grants under concurrency ${where}`, () => {
    afterEach(cleanUp);

    it('24 parallel assignRole/grantPermission of a new role, 10 rounds: no error, one role, one row per user and per grant', async () => {
      // Pools of 4: the calls queue for connections and still race (up to 8 transactions at once on
      // two ORMs), without using up the server's connections beside the other test files.
      const { stores, sql, key } = await storeTarget(kind, ['permission'], { orms: 2, pool: 4 });
      const users = await Promise.all([0, 1, 2].map((i) => stores[0]!.createUser({ email: `r${i}@x.io` })));
      for (let round = 0; round < 10; round++) {
        const role = `role${round}`;
        const calls = Array.from({ length: 24 }, (_, n) => {
          const store = stores[n % stores.length]!;
          return n % 4 === 3 ? store.grantPermission(role, `perm:${round}`) : store.assignRole(users[n % 3]!.id, role);
        });
        const results = await Promise.allSettled(calls);
        expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        expect((await sql('select id from fullauth_roles where name = ?', [role])).length).toBe(1);
        const held = await sql('select ur.user_id from fullauth_user_roles ur join fullauth_roles r on r.id = ur.role_id where r.name = ?', [role]);
        expect(held.map((r) => String(r.user_id).replace(/-/g, '')).sort()).toEqual(users.map((u) => key(u.id).replace(/-/g, '')).sort());
        expect((await sql('select 1 from fullauth_role_permissions rp join fullauth_roles r on r.id = rp.role_id where r.name = ?', [role])).length).toBe(1);
        for (const user of users) expect(await stores[0]!.listRoles(user.id)).toContain(role);
      }
    });

    it("8 parallel assignRole of a new role, each inside a caller's transaction (MariaDB: REPEATABLE READ), 10 rounds: no deadlock, no error", async () => {
      const target = await storeTarget(kind, ['role'], { pool: 4 });
      const users = await Promise.all(Array.from({ length: 8 }, (_, i) => target.store.createUser({ email: `t${i}@x.io` })));
      for (let round = 0; round < 10; round++) {
        const results = await Promise.allSettled(
          users.map((user) => target.orm.em.fork().transactional((em) => createFullauthStore(em).assignRole(user.id, `fresh${round}`))),
        );
        expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        for (const user of users) expect(await target.store.listRoles(user.id)).toEqual([`fresh${round}`, ...Array.from({ length: round }, (_, i) => `fresh${i}`)].sort());
      }
    });

    it(`assignRole ∥ deleteUser, ${RUNS / 4} times: the assignment lands before the deletion or fails as NotFoundError; no row is left`, async () => {
      const { stores, sql } = await storeTarget(kind, ['role'], { orms: 2, pool: 4 });
      const [a, b = a] = stores;
      await a!.assignRole((await a!.createUser({ email: 'seed@x.io' })).id, 'editor'); // the role exists: only the user's row is raced
      for (let i = 0; i < RUNS / 4; i++) {
        const user = await a!.createUser({ email: `gone${i}@x.io` });
        const [assigned, deleted] = await Promise.allSettled([a!.assignRole(user.id, 'editor'), b!.deleteUser(user.id)]);
        expect(deleted.status).toBe('fulfilled');
        if (assigned.status === 'rejected') expect(assigned.reason).toBeInstanceOf(NotFoundError);
      }
      expect(Number((await sql('select count(*) as n from fullauth_user_roles'))[0]!.n)).toBe(1);
    });
  });
}
