// The store against hostile and malformed input, deactivated users and concurrent role syncs:
// every refusal is a typed error raised before any SQL (the caller's transaction stays
// usable, nothing is written), and every value reaches PostgreSQL as a bound parameter.
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DuplicateEmailError,
  ForeignFamilyError,
  FullauthStoreError,
  InactiveUserError,
  InvalidArgumentError,
  InvalidRefreshTokenError,
  NotFoundError,
  RetryableStoreError,
  RevokedFamilyError,
  UserReferencedError,
  ValueTooLongError,
  createFullauthStore,
  defineFullauthEntities,
  normalizeEmail,
  type FullauthGroup,
  type FullauthUser,
} from '../src/index.js';
import { MIKRO_ORM_6, describeTargets } from './support/compat.js';
import { recordDriverQueries } from './support/driver-log.js';
import { initOrm, type Target } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
const orms: MikroORM[] = [];
// Each test's ORMs and databases go when it ends: the races open many connections.
afterEach(async () => {
  await Promise.all(orms.splice(0).map((o) => o.close()));
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});

async function setup(kind: Target['kind'], include: FullauthGroup[] = ['permission', 'oauth', 'passkey'], options: Parameters<typeof defineFullauthEntities>[1] = {}) {
  let target: Target = { kind: 'pglite' };
  if (kind === 'postgres') {
    const db = await createDatabase('inputs');
    databases.push(db);
    target = { kind, url: db.url };
  }
  const orm = await initOrm(target, { entities: [...defineFullauthEntities(include, options)], pool: { max: 10 } });
  orms.push(orm);
  await orm.schema.create();
  const count = async (table: string) =>
    Number((await orm.em.fork().getConnection().execute<{ n: number }[]>(`select count(*)::int as n from ${table}`))[0]!.n);
  return { orm, store: createFullauthStore(orm.em), count };
}

const kinds = (['postgres', 'pglite'] as const).filter((k) => k === 'pglite' || !skipPostgres);
// Plain JavaScript callers: the types say what is allowed; these values say what arrives anyway.
const loose = <T>(value: unknown) => value as T;

describeTargets(kinds, 'deactivated users on %s', (kind) => {
  it('cannot issue or rotate tokens, fail every role and permission check (superusers too), and get tokens again once reactivated', async () => {
    const { store, count } = await setup(kind);
    const ann = await store.createUser({ email: 'ann@x.io' });
    const root = await store.createUser({ email: 'root@x.io', isSuperuser: true });
    await store.assignRole(ann.id, 'editor');
    await store.grantPermission('editor', 'articles:write');
    const annToken = await store.issueRefreshToken(ann.id);
    await store.issueRefreshToken(ann.id);
    expect(await store.hasPermission(ann.id, 'articles:write')).toBe(true);
    expect(await store.hasPermission(root.id, 'any:thing')).toBe(true);

    expect(await store.deactivateUser(ann.id)).toBe(2); // both tokens revoked in the same transaction
    expect(await store.deactivateUser(root.id)).toBe(0);
    expect((await store.findUserById(ann.id))?.isActive).toBe(false);
    await expect(store.issueRefreshToken(ann.id)).rejects.toBeInstanceOf(InactiveUserError);
    await expect(store.rotateRefreshToken(annToken.token)).rejects.toBeInstanceOf(InactiveUserError);
    expect(await store.hasPermission(ann.id, 'articles:write')).toBe(false);
    expect(await store.hasRole(ann.id, 'editor')).toBe(false);
    expect(await store.hasPermission(root.id, 'any:thing')).toBe(false);
    expect(await store.hasRole(root.id, 'any')).toBe(false);
    expect(await count('fullauth_refresh_tokens where not revoked')).toBe(0);

    // A user created inactive is inactive from the start.
    const off = await store.createUser({ email: 'off@x.io', isActive: false });
    await expect(store.issueRefreshToken(off.id)).rejects.toBeInstanceOf(InactiveUserError);

    await store.reactivateUser(ann.id);
    await expect(store.rotateRefreshToken(annToken.token)).rejects.toBeInstanceOf(FullauthStoreError); // old tokens stay revoked
    expect((await store.issueRefreshToken(ann.id)).userId).toBe(ann.id);
    expect(await store.hasPermission(ann.id, 'articles:write')).toBe(true);
    await expect(store.deactivateUser('01900000-0000-7000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.reactivateUser('01900000-0000-7000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describeTargets(kinds, 'input the store refuses on %s', (kind) => {
  it('e-mails: empty, white space only, not a string, NUL, over 320 characters; normalised as Python does', async () => {
    const { store, count } = await setup(kind, []);
    for (const email of ['', '   ', '\t\u3000\n', '\u001f\u0085']) {
      await expect(store.createUser({ email })).rejects.toThrow(/email must not be empty or only white space/);
    }
    for (const email of [42, null, undefined, new String('a@x.io'), ['a@x.io'], { toString: () => 'a@x.io' }]) {
      await expect(store.createUser({ email: loose<string>(email) })).rejects.toThrow(/email must be a string/);
      await expect(store.findUserByEmail(loose<string>(email))).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(store.createUser({ email: 'a\u0000b@x.io' })).rejects.toThrow(/NUL/);
    const tooLong = await store.createUser({ email: `${'a'.repeat(311)}@x.io00000` }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(ValueTooLongError);
    expect(tooLong).toMatchObject({ argument: 'email', limit: 320 });
    await expect(store.createUser({ email: 'x@x.io', isActive: loose<boolean>('false') })).rejects.toThrow(/isActive must be true or false/);
    await expect(store.createUser(loose({ email: 'x@x.io', isAdmin: true }))).rejects.toThrow(/unknown key 'isAdmin'/);
    expect(await count('fullauth_users')).toBe(0);

    // fastapi-fullauth's strip(): U+001F and U+0085 go, U+FEFF stays.
    expect((await store.createUser({ email: 'Ann@Example.com\u001f\u0085 ' })).email).toBe('ann@example.com');
    const bom = await store.createUser({ email: '\ufeffAnn@Example.com' });
    // PGlite's result decoding (TextDecoder) drops a leading U+FEFF from values it returns; the row holds it.
    if (kind === 'postgres') expect(bom.email).toBe('\ufeffann@example.com');
    expect(await count(`fullauth_users where octet_length(email) = 18 and email like '%ann@example.com'`)).toBe(1);
    expect((await store.findUserByEmail('\ufeffANN@example.com'))?.id).toBe(bom.id);
    expect(await store.findUserByEmail('ann@example.com')).not.toBeNull(); // the other account
    await expect(store.createUser({ email: '\u2003ANN@example.COM\u2028' })).rejects.toBeInstanceOf(DuplicateEmailError);
  });

  it('tokens and token options: wrong types and malformed values are refused; issuing into another user\'s family too', async () => {
    const { store, count } = await setup(kind, []);
    const ann = await store.createUser({ email: 'ann@x.io' });
    const bob = await store.createUser({ email: 'bob@x.io' });
    for (const token of [undefined, null, 7, new String('x'), {}]) {
      await expect(store.rotateRefreshToken(loose<string>(token))).rejects.toThrow(/token must be a string/);
    }
    for (const token of ['', 'x'.repeat(100_000), 'a\u0000b']) await expect(store.rotateRefreshToken(token)).rejects.toBeInstanceOf(InvalidRefreshTokenError);
    await expect(store.issueRefreshToken(ann.id, { expiresIn: -5 })).rejects.toThrow(/options.expiresIn must be between 1 and/);
    await expect(store.issueRefreshToken(ann.id, { expiresIn: Number.NaN })).rejects.toThrow(/options.expiresIn must be a whole number, got NaN/);
    await expect(store.issueRefreshToken(ann.id, { expiresAt: new Date('nope') })).rejects.toThrow(/options.expiresAt must be a valid Date/);
    await expect(store.issueRefreshToken(ann.id, { expiresAt: loose<Date>('2030-01-01') })).rejects.toThrow(/options.expiresAt must be a valid Date/);
    await expect(store.issueRefreshToken(ann.id, { expiresIn: 60, expiresAt: new Date() })).rejects.toThrow(/not both/);
    await expect(store.issueRefreshToken(ann.id, loose({ expires: 60 }))).rejects.toThrow(/unknown key 'expires'; valid: expiresIn/);
    await expect(store.issueRefreshToken(ann.id, { familyId: 'f'.repeat(37) })).rejects.toMatchObject({ argument: 'options.familyId', limit: 36 });
    await expect(store.issueRefreshToken(ann.id, { userAgent: loose<string>(42) })).rejects.toThrow(/options.userAgent must be a string/);
    await expect(store.issueRefreshToken(loose<string>(42))).rejects.toThrow(/userId must be a string id/);
    expect(await count('fullauth_refresh_tokens')).toBe(0);

    const session = await store.issueRefreshToken(ann.id);
    const foreign = await store.issueRefreshToken(bob.id, { familyId: session.familyId }).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(ForeignFamilyError);
    expect(await count('fullauth_refresh_tokens')).toBe(1);
    expect((await store.issueRefreshToken(ann.id, { familyId: session.familyId })).familyId).toBe(session.familyId);
    // A logged-out session is not continued: the revocation stands.
    await store.revokeFamily(session.familyId);
    await expect(store.issueRefreshToken(ann.id, { familyId: session.familyId })).rejects.toBeInstanceOf(RevokedFamilyError);
    expect(await count('fullauth_refresh_tokens where not revoked')).toBe(0);
    // Only an existing session is continued.
    await expect(store.issueRefreshToken(ann.id, { familyId: 'my-own-family-id' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('revokeSession is scoped to the user and says whether the session exists; revokeFamily takes only a string', async () => {
    const { store, count } = await setup(kind, []);
    const ann = await store.createUser({ email: 'ann@x.io' });
    const bob = await store.createUser({ email: 'bob@x.io' });
    const annSession = await store.issueRefreshToken(ann.id);
    await store.issueRefreshToken(bob.id);
    expect(await store.revokeSession(bob.id, annSession.familyId)).toBe(false); // not Bob's: untouched
    expect(await count('fullauth_refresh_tokens where not revoked')).toBe(2);
    expect(await store.revokeSession(ann.id, annSession.familyId)).toBe(true);
    expect(await store.revokeSession(ann.id, annSession.familyId)).toBe(true); // idempotent
    expect(await store.revokeSession(ann.id, 'no-such-family')).toBe(false);
    expect(await count('fullauth_refresh_tokens where not revoked')).toBe(1);
    // An object that formats as SQL was once pasted into the statement and revoked every token.
    await expect(store.revokeFamily(loose<string>(new String("'x' or true")))).rejects.toThrow(/familyId must be a string/);
    await expect(store.revokeFamily(loose<string>(1))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await store.revokeFamily("'x' or true")).toBe(0);
    expect(await count('fullauth_refresh_tokens where not revoked')).toBe(1);
  });

  it('roles, permissions, OAuth and passkeys: sizes, ranges and types', async () => {
    const { store, count } = await setup(kind);
    const ann = await store.createUser({ email: 'ann@x.io' });
    await expect(store.assignRole(ann.id, 'r'.repeat(101))).rejects.toMatchObject({ name: 'ValueTooLongError', argument: 'roleName', limit: 100 });
    await expect(store.grantPermission('editor', 'p'.repeat(201))).rejects.toMatchObject({ argument: 'permission', limit: 200 });
    await expect(store.grantPermission('editor', 'x:y', 'd'.repeat(501))).rejects.toMatchObject({ argument: 'description', limit: 500 });
    await expect(store.assignRole(ann.id, '')).rejects.toThrow(/roleName must not be empty/);
    await expect(store.hasPermission(ann.id, loose<string>(null))).rejects.toThrow(/permission must be a string/);
    await expect(store.syncRoles(loose({ editor: 'articles:read' }))).rejects.toThrow(/map\['editor'\] must be an array/);
    await expect(store.syncRoles(loose(['editor']))).rejects.toThrow(/map must be an object/);
    await expect(store.syncRoles({ editor: ['ok', 'x'.repeat(201)] })).rejects.toBeInstanceOf(ValueTooLongError);
    expect(await count('fullauth_roles')).toBe(0);
    expect(await count('fullauth_permissions')).toBe(0);

    const link = { userId: ann.id, provider: 'github', providerUserId: '1' };
    await expect(store.linkOAuthAccount({ ...link, providerUserId: '9'.repeat(321) })).rejects.toMatchObject({ argument: 'providerUserId', limit: 320 });
    await expect(store.linkOAuthAccount({ ...link, provider: 'p'.repeat(51) })).rejects.toMatchObject({ argument: 'provider', limit: 50 });
    await expect(store.linkOAuthAccount({ ...link, providerEmail: 'e'.repeat(321) })).rejects.toMatchObject({ argument: 'providerEmail', limit: 320 });
    await expect(store.linkOAuthAccount({ ...link, expiresAt: loose<Date>(123) })).rejects.toThrow(/expiresAt must be a valid Date/);
    await expect(store.linkOAuthAccount({ ...link, providerUserId: loose<string>(1) })).rejects.toThrow(/providerUserId must be a string/);
    expect(await count('fullauth_oauth_accounts')).toBe(0);
    // Multi-byte characters count as one, as varchar(n) counts them.
    expect((await store.linkOAuthAccount({ ...link, providerUserId: '😀'.repeat(320) })).created).toBe(true);

    const key = { userId: ann.id, credentialId: 'c1', publicKey: 'pk' };
    for (const signCount of [-1, 5.5, Number.NaN, 2 ** 31, loose<number>('5')]) {
      await expect(store.registerPasskey({ ...key, signCount })).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'signCount' });
    }
    await expect(store.registerPasskey({ ...key, credentialId: 'c'.repeat(513) })).rejects.toMatchObject({ argument: 'credentialId', limit: 512 });
    await expect(store.registerPasskey({ ...key, transports: ['usb,nfc'] })).rejects.toThrow(/comma/);
    await expect(store.registerPasskey({ ...key, transports: loose<string[]>('usb') })).rejects.toThrow(/transports must be an array/);
    expect(await count('fullauth_passkeys')).toBe(0);
    await store.registerPasskey({ ...key, signCount: 2 ** 31 - 1 });
    for (const signCount of [-1, 5.5, Number.NaN, 2 ** 31, Infinity]) {
      await expect(store.recordPasskeyUse('c1', signCount)).rejects.toMatchObject({ argument: 'signCount' });
    }
    expect((await store.findPasskey('c1'))?.signCount).toBe(2 ** 31 - 1);
  });

  it('purgeExpiredTokens takes only a positive whole batch size and a valid date', async () => {
    const { store } = await setup(kind, []);
    for (const batchSize of [0, -1, 1.5, Number.NaN, 1e9, loose<number>('10')]) {
      await expect(store.purgeExpiredTokens({ batchSize })).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'options.batchSize' });
    }
    await expect(store.purgeExpiredTokens({ before: new Date(Number.NaN) })).rejects.toThrow(/options.before must be a valid Date/);
    expect(await store.purgeExpiredTokens({ batchSize: 1 })).toBe(0);
  });

  it('strings that only look like uuids are no id: NotFoundError before any SQL; a uuid in upper case is the same user', async () => {
    const { orm, count } = await setup(kind, ['role']);
    await orm.em.fork().transactional(async (em) => {
      const store = createFullauthStore(em);
      const user = await store.createUser({ email: 'ids@x.io' });
      const at = (i: number, c: string) => user.id.slice(0, i) + c + user.id.slice(i + 1);
      const lookAlikes = [
        // A unit beyond ASCII whose low byte is a hex digit or a dash ('İ' is U+0130, 'š' U+0161, 'ĭ' U+012D).
        at(0, '\u0130'),
        at(35, '\u0161'),
        at(8, '\u012d'),
        at(3, '\u0660'), // an Arabic-Indic zero
        at(3, '\uff10'), // a full-width zero
        at(3, 'g'),
        at(8, '0'), // a dash moved
        user.id.slice(0, 35),
        `${user.id}0`,
        user.id.replace(/-/g, ''),
        `{${user.id.slice(1, 35)}}`,
      ];
      for (const id of lookAlikes) {
        await expect(store.assignRole(id, 'r'), id).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.findUserById(id), id).toBeNull();
      }
      await store.assignRole(user.id.toUpperCase(), 'editor'); // the transaction was not aborted
      expect(await store.listRoles(user.id)).toEqual(['editor']);
    });
    expect(await count('fullauth_user_roles')).toBe(1);
  });

  it('refusals happen before any SQL: the caller\'s transaction stays usable', async () => {
    const { orm, count } = await setup(kind, ['role']);
    await orm.em.fork().transactional(async (em) => {
      const store = createFullauthStore(em);
      const user = await store.createUser({ email: 'tx@x.io' });
      await expect(store.purgeExpiredTokens({ batchSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.assignRole(user.id, 'r'.repeat(500))).rejects.toBeInstanceOf(ValueTooLongError);
      await expect(store.revokeAllForUser('9999999999999999999')).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.createUser({ email: 'nul\u0000@x.io' })).rejects.toBeInstanceOf(InvalidArgumentError);
      await store.assignRole(user.id, 'editor'); // the transaction was not aborted
    });
    expect(await count('fullauth_user_roles')).toBe(1);
  });
});

describe.skipIf(skipPostgres)('bigint ids on PostgreSQL', () => {
  it('ids beyond int8, zero or with signs never reach SQL', async () => {
    const { orm } = await setup('postgres', ['role'], { idStrategy: 'bigint' });
    await orm.em.fork().transactional(async (em) => {
      const store = createFullauthStore(em);
      const user = await store.createUser({ email: 'big@x.io' });
      for (const id of ['9999999999999999999', '9223372036854775808', '0', '-1', '+1', '1e3', ' 1']) {
        await expect(store.issueRefreshToken(id)).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.findUserById(id)).toBeNull();
      }
      await expect(store.hasRole('9223372036854775807', 'x')).resolves.toBe(false);
      await store.assignRole(user.id, 'admin'); // still in a usable transaction
    });
  });
});

describe.skipIf(skipPostgres)('values are bound parameters on PostgreSQL', () => {
  let recording: ReturnType<typeof recordDriverQueries> | undefined;
  afterEach(() => recording?.stop());

  it('no value of any store operation appears in the SQL text the driver receives', async () => {
    const { store } = await setup('postgres');
    recording = recordDriverQueries();
    const sent = recording.queries;
    const marker = (name: string) => `mark_${name}_'"; select 1; --`;
    const user = await store.createUser({ email: `${marker('email')}@x.io`, hashedPassword: marker('hash') });
    await store.findUserByEmail(`${marker('email')}@x.io`);
    const token = await store.issueRefreshToken(user.id, { userAgent: marker('agent'), ipAddress: 'mark_ip' });
    await store.issueRefreshToken(user.id, { familyId: token.familyId, userAgent: marker('agent3') });
    await store.rotateRefreshToken(token.token, { userAgent: marker('agent2') });
    await store.revokeSession(user.id, token.familyId);
    await store.revokeFamily(token.familyId);
    await store.assignRole(user.id, marker('role'));
    await store.grantPermission(marker('role'), marker('perm'), marker('description'));
    await store.syncRoles({ [marker('role2')]: [marker('perm2')] });
    await store.hasPermission(user.id, marker('perm'));
    await store.hasRole(user.id, marker('role'));
    await store.linkOAuthAccount({ userId: user.id, provider: 'mark_prov', providerUserId: marker('puid'), accessToken: marker('at') });
    await store.registerPasskey({ userId: user.id, credentialId: marker('cred'), publicKey: marker('pk'), signCount: 424242, deviceName: marker('device') });
    await store.recordPasskeyUse(marker('cred'), 434343);
    await store.changePassword(user.id, marker('hash2'));
    await store.deactivateUser(user.id);

    const store_ = sent.filter((q) => !/^(begin|commit|rollback|savepoint|release)/i.test(q.text.trim()));
    expect(store_.length).toBeGreaterThan(15);
    const leaked = store_.filter((q) => /mark_|424242|434343/.test(q.text) || q.text.includes(user.id) || q.text.includes(token.familyId));
    expect(leaked.map((q) => q.text)).toEqual([]);
    const values = store_.flatMap((q) => q.values.map(String));
    for (const expected of [marker('hash'), marker('agent'), marker('perm2'), '434343', user.id]) expect(values).toContain(expected);
  });
});

describe.skipIf(skipPostgres)('the host side of the user on PostgreSQL', () => {
  it('a host column named with a double quote is quoted', async () => {
    const { p } = await import('@mikro-orm/core');
    const { store, orm } = await setup('postgres', [], { user: { properties: { odd: p.string().fieldName('we"ird').nullable() } } });
    const user = await store.createUser({ email: 'q@x.io', extra: { odd: 'value' } });
    const [row] = await orm.em.fork().getConnection().execute(`select "we""ird" as v from fullauth_users where id = '${user.id}'`);
    expect(row!.v).toBe('value');
    await expect(store.createUser({ email: 'r@x.io', extra: { odd: loose<string>(12) } })).rejects.toThrow(/extra.odd must be a string/);
  });

  it('a host relation declared with deleteRule "set null" keeps its row when deleteUser() deletes the user (the docs\' example)', async () => {
    const { EntitySchema } = await import('@mikro-orm/core');
    const db = await createDatabase('inputs_host');
    databases.push(db);
    const auth = defineFullauthEntities(['base']);
    const Article = new EntitySchema<{ id: number; title: string; author: FullauthUser<'base'> | null }>({
      name: 'Article',
      properties: {
        id: { type: 'integer', primary: true },
        title: { type: 'string' },
        author: { kind: 'm:1', entity: () => auth.FullauthUser, nullable: true, deleteRule: 'set null' },
      },
    });
    const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...auth, Article] });
    orms.push(orm);
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const user = await store.createUser({ email: 'author@x.io' });
    await orm.em.getConnection().execute(`insert into article (id, title, author_id) values (1, 'kept', '${user.id}')`);
    expect(await store.deleteUser(user.id)).toBe(true);
    const rows = await orm.em.getConnection().execute('select title, author_id from article');
    expect(rows).toEqual([{ title: 'kept', author_id: null }]);
  });

  it('deleteUser of a user a host row still refers to (ON DELETE RESTRICT) names the constraint; nothing is deleted', async () => {
    const { store, orm, count } = await setup('postgres', []);
    const user = await store.createUser({ email: 'ref@x.io' });
    await store.issueRefreshToken(user.id);
    await orm.em.getConnection().execute(`
      create table article (id serial primary key, author_id uuid not null
        constraint article_author_fk references fullauth_users (id) on delete restrict);
      insert into article (author_id) values ('${user.id}');`);
    const error = await store.deleteUser(user.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserReferencedError);
    expect(error).toMatchObject({ constraint: 'article_author_fk', table: 'article', userId: user.id });
    expect((error as Error).message).toMatch(/still referenced by 'article' \(foreign key 'article_author_fk'\)/);
    expect(await count('fullauth_users')).toBe(1);
    expect(await count('fullauth_refresh_tokens')).toBe(1);
    await orm.em.getConnection().execute('delete from article');
    expect(await store.deleteUser(user.id)).toBe(true);
    expect(await store.deleteUser(user.id)).toBe(false);
  });
});

/** `body` with a store in a caller's transaction at `isolationLevel`; its result, or what it threw. */
async function inCallerTransaction(
  orm: MikroORM,
  isolationLevel: import('@mikro-orm/core').IsolationLevel,
  body: (inside: ReturnType<typeof createFullauthStore>) => Promise<unknown>,
): Promise<unknown> {
  return orm.em
    .fork()
    .transactional((em) => body(createFullauthStore(em)), { isolationLevel })
    .catch((error: unknown) => error);
}

describe.skipIf(skipPostgres)('the review\'s findings on PostgreSQL', () => {
  it('a family revoked after a caller\'s REPEATABLE READ / SERIALIZABLE snapshot is not continued in it (a retryable error)', async () => {
    const { IsolationLevel } = await import('@mikro-orm/core');
    const { orm, store, count } = await setup('postgres', []);
    const user = await store.createUser({ email: 'rr@x.io' });
    // Another request's store: a fork, outside the caller's transaction (the global em would join it).
    const other = createFullauthStore(orm.em.fork());
    for (const isolationLevel of [IsolationLevel.REPEATABLE_READ, IsolationLevel.SERIALIZABLE]) {
      const { familyId } = await store.issueRefreshToken(user.id);
      const outcome = await inCallerTransaction(orm, isolationLevel, async (inside) => {
        await inside.listSessions(user.id); // the snapshot is taken here
        expect(await other.revokeFamily(familyId)).toBe(1); // another request logs the session out
        await inside.issueRefreshToken(user.id, { familyId });
        return 'issued';
      });
      expect(outcome).toBeInstanceOf(RetryableStoreError);
      expect(await count(`fullauth_refresh_tokens where family_id = '${familyId}' and not revoked`)).toBe(0);
    }
  });

  it('a revocation in a caller\'s REPEATABLE READ / SERIALIZABLE transaction is refused before it writes: its snapshot would miss a token issued meanwhile', async () => {
    const { IsolationLevel } = await import('@mikro-orm/core');
    const { orm, store, count } = await setup('postgres', []);
    const other = createFullauthStore(orm.em.fork());
    const revocations = ['revokeFamily', 'revokeSession', 'revokeAllForUser', 'revokeAllExceptFamily', 'deactivateUser', 'changePassword'] as const;
    const revoke = (inside: ReturnType<typeof createFullauthStore>, op: (typeof revocations)[number], userId: string, familyId: string): Promise<unknown> =>
      op === 'revokeFamily' ? inside.revokeFamily(familyId)
      : op === 'revokeSession' ? inside.revokeSession(userId, familyId)
      : op === 'revokeAllExceptFamily' ? inside.revokeAllExceptFamily(userId, 'another-family')
      : op === 'changePassword' ? inside.changePassword(userId, 'new-hash')
      : inside[op](userId);
    let n = 0;
    for (const isolationLevel of [IsolationLevel.REPEATABLE_READ, IsolationLevel.SERIALIZABLE, IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED]) {
      for (const op of revocations) {
        const user = await store.createUser({ email: `rr${n++}@x.io`, hashedPassword: 'old-hash' });
        const { familyId } = await store.issueRefreshToken(user.id);
        const outcome = await inCallerTransaction(orm, isolationLevel, async (inside) => {
          await inside.findUserById(user.id); // the snapshot is taken here
          // Another request continues the session, after the snapshot: a token the snapshot cannot see.
          await other.issueRefreshToken(user.id, { familyId });
          await revoke(inside, op, user.id, familyId);
          return 'done';
        });
        const live = await count(`fullauth_refresh_tokens where user_id = '${user.id}' and not revoked`);
        if (isolationLevel === IsolationLevel.READ_COMMITTED || isolationLevel === IsolationLevel.READ_UNCOMMITTED) {
          // READ COMMITTED (and READ UNCOMMITTED, which PostgreSQL runs as it): each statement sees what committed before it, the new token too.
          expect([op, outcome, live]).toEqual([op, 'done', 0]);
        } else {
          expect(outcome, op).toBeInstanceOf(FullauthStoreError);
          expect(String(outcome)).toContain(`${op}() cannot run in this ${isolationLevel === IsolationLevel.SERIALIZABLE ? 'SERIALIZABLE' : 'REPEATABLE READ'} transaction`);
          expect(String(outcome)).toMatch(/READ COMMITTED one .*Nothing was written/);
          // Nothing was written: both tokens live, the user active, the password kept.
          expect([op, live]).toEqual([op, 2]);
          expect(await store.findUserById(user.id)).toMatchObject({ isActive: true, hashedPassword: 'old-hash' });
        }
      }
    }
  });

  it('only an existing session of the user is continued: a made-up or purged family id is a NotFoundError', async () => {
    const { store, count } = await setup('postgres', []);
    const user = await store.createUser({ email: 'fam@x.io' });
    await expect(store.issueRefreshToken(user.id, { familyId: 'made-up' })).rejects.toBeInstanceOf(NotFoundError);
    const { familyId } = await store.issueRefreshToken(user.id, { expiresIn: 1 });
    await store.revokeFamily(familyId);
    expect(await store.purgeExpiredTokens({ before: new Date(Date.now() + 5000) })).toBe(1);
    await expect(store.issueRefreshToken(user.id, { familyId })).rejects.toBeInstanceOf(NotFoundError);
    expect(await count('fullauth_refresh_tokens')).toBe(0);
  });

  it('normalising an e-mail is linear: a million inner spaces are no denial of service', async () => {
    const { store } = await setup('postgres', []);
    const hostile = `a${' '.repeat(1_000_000)}b@x.io`;
    expect(normalizeEmail(` ${hostile} `)).toBe(hostile);
    await expect(store.findUserByEmail(hostile)).rejects.toBeInstanceOf(ValueTooLongError);
  });

  it('inherited properties are never read (a polluted Object.prototype makes no superuser)', async () => {
    const { store } = await setup('postgres', []);
    const inherited = Object.assign(Object.create({ isSuperuser: true, isActive: false }) as object, { email: 'proto@x.io' });
    expect(await store.createUser(inherited as { email: string })).toMatchObject({ isSuperuser: false, isActive: true });
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.isSuperuser = true;
    prototype.familyId = 'stolen';
    try {
      const user = await store.createUser({ email: 'polluted@x.io' });
      expect(user.isSuperuser).toBe(false);
      expect((await store.issueRefreshToken(user.id)).familyId).not.toBe('stolen');
    } finally {
      delete prototype.isSuperuser;
      delete prototype.familyId;
    }
  });

  it('lone surrogates, dates outside the years 1–9999 or in the past, Proxies and array look-alikes are refused before SQL', async () => {
    const { orm, store } = await setup('postgres', ['permission'], {});
    const user = await store.createUser({ email: 'dates@x.io' });
    await expect(store.createUser({ email: '\ud800admin@x.io' })).rejects.toThrow(/lone surrogate/);
    await expect(store.findUserByEmail('\udfffadmin@x.io')).rejects.toThrow(/lone surrogate/);
    await orm.em.fork().transactional(async (em) => {
      const inside = createFullauthStore(em);
      for (const expiresAt of [new Date(-8.64e15), new Date(Date.UTC(10000, 0, 1)), new Date(Date.now() - 1000), new Proxy(new Date(), {})]) {
        await expect(inside.issueRefreshToken(user.id, { expiresAt })).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      await expect(inside.purgeExpiredTokens({ before: new Date(-8.64e15) })).rejects.toThrow(/between the years 1 and 9999/);
      // An own `map` on the array is never called: the items themselves are checked and stored.
      const permissions = Object.assign(['articles:read'], { map: () => ['x'.repeat(300)] });
      await inside.syncRoles({ editor: permissions });
      expect(await inside.hasPermission(user.id, 'articles:read')).toBe(false); // no role yet: a plain query in the same transaction
    });
  });

  it('host property values are checked against their property: length, bigint', async () => {
    const { p } = await import('@mikro-orm/core');
    const { orm, store, count } = await setup('postgres', [], { user: { properties: { nick: p.string().length(20).nullable(), score: p.bigint().nullable() } } });
    await orm.em.fork().transactional(async (em) => {
      const inside = createFullauthStore(em);
      await expect(inside.createUser({ email: 'h1@x.io', extra: { nick: 'n'.repeat(21) } })).rejects.toMatchObject({ argument: 'extra.nick', limit: 20 });
      await expect(inside.createUser({ email: 'h2@x.io', extra: { score: {} } })).rejects.toThrow(/extra.score must be a whole number/);
      await expect(inside.createUser({ email: 'h3@x.io', extra: { score: 'abc' } })).rejects.toBeInstanceOf(InvalidArgumentError);
      await inside.createUser({ email: 'h4@x.io', extra: { nick: 'n'.repeat(20), score: '9007199254740993' } }); // the transaction still works
    });
    expect(await count('fullauth_users')).toBe(1);
  });
});

describe.skipIf(skipPostgres)('rehashPassword on PostgreSQL', () => {
  it('replaces the hash only if it is still the verified one, and keeps the sessions', async () => {
    const { store, count } = await setup('postgres', []);
    const user = await store.createUser({ email: 'rehash@x.io', hashedPassword: 'old-weak' });
    await store.issueRefreshToken(user.id);
    expect(await store.rehashPassword(user.id, 'not-the-current', 'new-strong')).toBe(false);
    expect(await store.rehashPassword(user.id, 'old-weak', 'new-strong')).toBe(true);
    expect((await store.findUserById(user.id))?.hashedPassword).toBe('new-strong');
    expect(await count('fullauth_refresh_tokens where not revoked')).toBe(1);
    // Raced against a password change: the change always wins.
    for (let i = 0; i < 50; i++) {
      const current = (await store.findUserById(user.id))!.hashedPassword!;
      await Promise.all([store.rehashPassword(user.id, current, `rehash${i}`), store.changePassword(user.id, `changed${i}`)]);
      expect((await store.findUserById(user.id))?.hashedPassword).toBe(`changed${i}`);
    }
    await expect(store.rehashPassword(user.id, loose<string>(null), 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe.skipIf(skipPostgres || MIKRO_ORM_6)(`the connection the store uses on PostgreSQL${MIKRO_ORM_6 ? ' (skipped on MikroORM 6: onReserveConnection is a MikroORM 7 option)' : ''}`, () => {
  it('a host hook on every connection reservation (onReserveConnection) still runs for the store\'s statements', async () => {
    const db = await createDatabase('inputs_reserve');
    databases.push(db);
    let reserved = 0;
    const orm = await initOrm({ kind: 'postgres', url: db.url }, {
      entities: [...defineFullauthEntities([])],
      onReserveConnection: async () => {
        reserved++;
      },
    });
    orms.push(orm);
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const before = reserved;
    const user = await store.createUser({ email: 'hook@x.io' });
    await store.revokeAllForUser(user.id); // a transaction of the store's
    expect(reserved - before).toBeGreaterThanOrEqual(2);
  });
});
