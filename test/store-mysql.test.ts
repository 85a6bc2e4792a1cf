// The auth store on the MySQL family (InnoDB): MariaDB, and MySQL itself (scripts/mysql-server.sh)
// through MikroORM's MySQL driver: the behaviour of test/store.test.ts and the races of
// test/store-races.test.ts, each test on a database of its own.
import { describe } from 'vitest';
import { MYSQL_FAMILY } from './support/mariadb.js';
import { functionalSuite, raceSuite } from './support/store-suites.js';

for (const kind of ['mariadb', 'mysql'] as const) {
  const { name, skip } = MYSQL_FAMILY[kind];
  const reason = skip ? ` (skipped: ${skip})` : '';
  describe.skipIf(!!skip)(`the store on ${name}${reason}`, () => functionalSuite(kind));
  describe.skipIf(!!skip)(`the store on ${name}, raced${reason}`, () => raceSuite(kind, `on ${name}`));
}
