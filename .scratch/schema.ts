import { MikroORM } from '@mikro-orm/mariadb';
import { MikroORM as Lite, SqliteDriver, NodeSqliteDialect } from '@mikro-orm/sql';
import { defineFullauthEntities, checkFullauthSchema } from '../src/index.js';
const base = await MikroORM.init({ clientUrl: 'mysql://root@127.0.0.1:3306/test', entities: [], discovery: { warnWhenNoEntities: false } as any });
for (const d of ['fa_s1', 'fa_auth']) { await base.em.getConnection().execute(`drop database if exists ${d}`); await base.em.getConnection().execute(`create database ${d}`); }
await base.close();
try {
const o = await MikroORM.init({ clientUrl: 'mysql://root@127.0.0.1:3306/fa_s1', entities: [...defineFullauthEntities(undefined, { schema: 'fa_auth' })] });
await o.schema.create();
console.log('mysql schema diff: [' + await o.schema.getUpdateSchemaSQL() + ']');
console.log((await checkFullauthSchema(o)).ok);
const em = o.em.fork(); const U = [...o.getMetadata()].find(m => m.className === 'FullauthUser')!.class as any; em.create(U, { email: 'a@b' }); await em.flush();
console.log(await o.em.getConnection().execute('select id from fa_auth.fullauth_users'));
await o.close();
} catch (e) { console.log('mysql error', (e as Error).message); }
try {
const o3 = await Lite.init({ driver: SqliteDriver, dbName: ':memory:', driverOptions: new NodeSqliteDialect(':memory:'), entities: [...defineFullauthEntities(undefined, { schema: 'auth' })] });
await o3.schema.create();
console.log('sqlite schema diff: [' + await o3.schema.getUpdateSchemaSQL() + ']');
await o3.close();
} catch (e) { console.log('sqlite error', (e as Error).message); }
