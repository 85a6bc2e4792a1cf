// Every store operation once, on the seeded users of the scale tests (test/scale.test.ts,
// test/store-mysql-scale.test.ts, test/store-sqlite-scale.test.ts): each test records the
// statements these calls send and checks the plan of every one on its database.
import type { FullauthStore } from '../../src/index.js';

/**
 * Calls each store operation at least once: on `user4242@example.com` (seeded with tokens,
 * roles, the GitHub account 4242 and passkey `cred-4242`), and on a user made and deleted
 * here. `purgeBefore` is the cut-off of the purge (a batch of the seeded expired tokens).
 */
export async function runEveryStoreOperation(store: FullauthStore, { purgeBefore }: { purgeBefore: Date }): Promise<{ userId: string }> {
  const user = await store.findUserByEmail('user4242@example.com');
  if (!user) throw new Error('the scale seed has no user4242@example.com');
  await store.findUserById(user.id);
  const fresh = await store.createUser({ email: 'new-user@example.com', hashedPassword: 'h' });
  await store.changePassword(fresh.id, 'h2');
  await store.registerPasskey({ userId: fresh.id, credentialId: 'fresh-cred', publicKey: 'pk' });
  await store.grantPermission('role3', 'perm:new');
  await store.revokePermission('role3', 'perm:new');
  await store.syncRoles({ role9: ['perm:1', 'perm:2'] });
  await store.listRoles(user.id);
  await store.deleteUser(fresh.id);
  const issued = await store.issueRefreshToken(user.id);
  const rotated = await store.rotateRefreshToken(issued.token);
  await store.issueRefreshToken(user.id, { familyId: rotated.familyId });
  await store.listSessions(user.id);
  await store.revokeSession(user.id, 'family-7');
  await store.revokeAllExceptFamily(user.id, rotated.familyId);
  await store.revokeFamily(rotated.familyId);
  await store.revokeAllForUser(user.id);
  await store.deactivateUser(user.id);
  await store.reactivateUser(user.id);
  await store.hasRole(user.id, 'role3');
  await store.hasPermission(user.id, 'perm:7');
  await store.assignRole(user.id, 'role5');
  await store.removeRole(user.id, 'role5');
  await store.linkOAuthAccount({ userId: user.id, provider: 'google', providerUserId: 'g-4242' });
  await store.findOAuthAccount('github', '4242');
  await store.unlinkOAuthAccount(user.id, 'google');
  await store.findPasskey('cred-4242');
  await store.recordPasskeyUse('cred-4242', 2);
  await store.purgeExpiredTokens({ before: purgeBefore, batchSize: 1000 });
  return { userId: user.id };
}
