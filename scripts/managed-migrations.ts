// Produces the shipped fullauth migrations (src/managed/postgresql.ts) from the entity
// definitions, with the repository's own MikroORM config (its driver and platform), on
// in-memory embedded PostgreSQL. For each group: apply the migrations already shipped, diff
// the group's tables against the entities, and emit what is missing as the next version.
import { MikroORM, SchemaComparator, type DatabaseSchema, type SchemaDifference } from '@mikro-orm/postgresql';
import config from '../mikro-orm.config.js';
import { FULLAUTH_GROUPS, defineFullauthEntities, resolveGroups } from '../src/index.js';
import { entityNamesOf } from '../src/build-schema.js';
import type { FullauthManagedMigration } from '../src/managed.js';
import { TEMPLATE_PREFIX } from '../src/managed/template.js';
import { FULLAUTH_MODEL } from '../src/model.js';
import { embeddedPostgres } from './embedded-postgres.js';

type Comparison = { fromSchema: DatabaseSchema; toSchema: DatabaseSchema };
/** MikroORM's SqlSchemaGenerator steps we use (`prepareSchemaForComparison` is private in its typings). */
interface Generator {
  prepareSchemaForComparison(options: object): Promise<Comparison>;
  diffToSQL(diff: SchemaDifference, options: object): string;
}

export async function missingMigrations(shipped: readonly FullauthManagedMigration[]): Promise<FullauthManagedMigration[]> {
  const versions = shipped.map((m) => Number(m.name.split('_')[0]));
  const next = String(Math.max(0, ...versions) + 1).padStart(4, '0');
  const created: FullauthManagedMigration[] = [];
  for (const group of FULLAUTH_GROUPS) {
    const entities = defineFullauthEntities([group], { tablePrefix: TEMPLATE_PREFIX });
    const orm = await MikroORM.init({
      ...config,
      entities: [...entities],
      clientUrl: undefined,
      dbName: 'postgres',
      driverOptions: () => embeddedPostgres(),
      extensions: [],
      debug: false,
    });
    try {
      const groups = resolveGroups([group]);
      for (const migration of shipped.filter((m) => groups.includes(m.group))) {
        for (const statement of migration.up) await orm.em.getConnection().execute(statement);
      }
      const own = new Set(entityNamesOf([group]).map((e) => `${TEMPLATE_PREFIX}${FULLAUTH_MODEL[e].table}`));
      const generator = orm.schema as unknown as Generator;
      const { fromSchema, toSchema } = await generator.prepareSchemaForComparison({ safe: false, dropTables: false });
      for (const schema of [fromSchema, toSchema]) schema.setTables(schema.getTables().filter((t) => own.has(t.name)));
      const diff = new SchemaComparator(orm.em.getPlatform()).compare(fromSchema, toSchema);
      const sql = generator.diffToSQL(diff, { wrap: false, safe: false, dropTables: false });
      const up = sql.split(/;\s*\n/).map((s) => s.trim().replace(/;$/, '')).filter(Boolean);
      if (up.length > 0) created.push({ name: `${next}_${group}`, group, up });
    } finally {
      await orm.close();
    }
  }
  return created;
}
