// The store operations the store benches measure, each beside the same work done by hand on
// the database's raw driver (bench/store.ts: pg; store-mysql.ts: mysql2; store-sqlite.ts:
// node:sqlite). One list for every database, so that each reports every operation.
import type { FullauthStore } from '../src/index.js';

/** The raw side of a database: the store's statements for each operation, by hand. */
export interface RawOperations {
  lookup(email: string): Promise<unknown>;
  permission(userId: string, name: string): Promise<unknown>;
  issue(userId: string): Promise<{ token: string; familyId: string }>;
  rotate(token: string): Promise<string>;
  revokeFamily(familyId: string): Promise<unknown>;
  byId(id: string): Promise<unknown>;
  role(userId: string, name: string): Promise<unknown>;
  createUser(email: string): Promise<unknown>;
  sessions(userId: string): Promise<unknown>;
  assignRole(userId: string, name: string): Promise<unknown>;
  link(userId: string, providerUserId: string): Promise<unknown>;
  passkeyUse(credentialId: string, count: number): Promise<unknown>;
  changePassword(userId: string, hash: string): Promise<unknown>;
  revokeAll(userId: string): Promise<unknown>;
}

export interface Pair {
  label: string;
  store: (i: number, worker: number) => Promise<unknown>;
  raw: (i: number, worker: number) => Promise<unknown>;
}

/**
 * What a bench must have made before calling `pairs()`: `users` (each with the role `editor`,
 * which grants `articles:write`), `chains` (2 × clients users no other pair revokes), and one
 * passkey per worker and side, `cred0` … `cred{2 × clients - 1}`, with a sign count of 1.
 */
export interface PairFixture {
  store: FullauthStore;
  raw: RawOperations;
  users: readonly { id: string }[];
  chains: readonly { id: string }[];
  /** The most workers any comparison runs. */
  clients: number;
}

/** Every pair, filtered by BENCH_STORE_ONLY (e.g. "rotation": the pairs whose label contains it). */
export function pairs({ store, raw, users, chains, clients }: PairFixture): Pair[] {
  // One token chain and one family list per worker: workers never contend on a user, as that many users would not.
  const storeTokens = new Map<number, string>();
  const rawTokens = new Map<number, string>();
  const count = users.length;
  const userOf = (worker: number, i: number) => users[(worker * 7 + i) % count]!;
  let signUps = 0;
  let links = 0;
  let newRoles = 0;
  const counts = Array.from({ length: 2 * clients }, () => 1);
  const all: Pair[] = [
    {
      label: 'sign-in lookup    ',
      store: (i) => store.findUserByEmail(`user${i % count}@example.com`),
      raw: (i) => raw.lookup(`user${i % count}@example.com`),
    },
    {
      label: 'permission check  ',
      store: (i) => store.hasPermission(users[i % count]!.id, 'articles:write'),
      raw: (i) => raw.permission(users[i % count]!.id, 'articles:write'),
    },
    {
      label: 'issue (login)     ',
      store: (i, w) => store.issueRefreshToken(userOf(w, i).id),
      raw: (i, w) => raw.issue(userOf(w, i).id),
    },
    {
      label: 'refresh rotation  ',
      store: async (_, w) => {
        const token = storeTokens.get(w) ?? (await store.issueRefreshToken(chains[w]!.id)).token;
        storeTokens.set(w, (await store.rotateRefreshToken(token)).token);
      },
      raw: async (_, w) => {
        const token = rawTokens.get(w) ?? (await raw.issue(chains[clients + w]!.id)).token;
        rawTokens.set(w, await raw.rotate(token));
      },
    },
    {
      label: 'logout (family)   ',
      store: async (i, w) => store.revokeFamily((await store.issueRefreshToken(userOf(w, i).id)).familyId),
      raw: async (i, w) => raw.revokeFamily((await raw.issue(userOf(w, i).id)).familyId),
    },
    {
      label: 'user by id        ',
      store: (i) => store.findUserById(users[i % count]!.id),
      raw: (i) => raw.byId(users[i % count]!.id),
    },
    {
      label: 'role check        ',
      store: (i) => store.hasRole(users[i % count]!.id, 'editor'),
      raw: (i) => raw.role(users[i % count]!.id, 'editor'),
    },
    {
      label: 'sign-up           ',
      store: () => store.createUser({ email: `s${signUps++}@example.com`, hashedPassword: 'h' }),
      raw: () => raw.createUser(`r${signUps++}@example.com`),
    },
    {
      label: 'list sessions     ',
      store: (i, w) => store.listSessions(userOf(w, i).id),
      raw: (i, w) => raw.sessions(userOf(w, i).id),
    },
    {
      label: 'assign role       ',
      store: (i, w) => store.assignRole(userOf(w, i).id, `role${i % 10}`),
      raw: (i, w) => raw.assignRole(userOf(w, i).id, `role${i % 10}`),
    },
    {
      label: 'assign new role   ',
      store: (i, w) => store.assignRole(userOf(w, i).id, `s${newRoles++}`),
      raw: (i, w) => raw.assignRole(userOf(w, i).id, `r${newRoles++}`),
    },
    {
      label: 'link OAuth        ',
      store: (i, w) => store.linkOAuthAccount({ userId: userOf(w, i).id, provider: 'github', providerUserId: `s${links++}` }),
      raw: (i, w) => raw.link(userOf(w, i).id, `r${links++}`),
    },
    {
      label: 'passkey use       ',
      store: (_, w) => store.recordPasskeyUse(`cred${w}`, ++counts[w]!),
      raw: (_, w) => raw.passkeyUse(`cred${clients + w}`, ++counts[clients + w]!),
    },
    {
      label: 'change password   ',
      store: (i, w) => store.changePassword(userOf(w, i).id, 'h2'),
      raw: (i, w) => raw.changePassword(userOf(w, i).id, 'h2'),
    },
    {
      label: 'revoke all of user',
      store: (i, w) => store.revokeAllForUser(userOf(w, i).id),
      raw: (i, w) => raw.revokeAll(userOf(w, i).id),
    },
  ];
  const only = process.env.BENCH_STORE_ONLY;
  return all.filter((pair) => !only || pair.label.includes(only));
}

/** The users, roles, chains and passkeys `pairs()` needs, made through the store. */
export async function seedPairFixture(store: FullauthStore, { users: userCount, clients }: { users: number; clients: number }) {
  const users: { id: string }[] = [];
  for (let i = 0; i < userCount; i++) users.push(await store.createUser({ email: `user${i}@example.com`, hashedPassword: 'h' }));
  await store.syncRoles({ editor: ['articles:read', 'articles:write'] });
  for (const u of users) await store.assignRole(u.id, 'editor');
  // One passkey per worker and side (its count only grows).
  for (let w = 0; w < 2 * clients; w++) await store.registerPasskey({ userId: users[w]!.id, credentialId: `cred${w}`, publicKey: 'pk', signCount: 1 });
  // Rotation chains on users of their own, which no revocation of the other pairs touches.
  const chains: { id: string }[] = [];
  for (let i = 0; i < 2 * clients; i++) chains.push(await store.createUser({ email: `chain${i}@example.com` }));
  return { users, chains };
}
