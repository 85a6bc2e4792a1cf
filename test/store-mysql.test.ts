// The auth store on MariaDB (the MySQL driver family, InnoDB): the behaviour of test/store.test.ts
// and the races of test/store-races.test.ts, each test on a database of its own.
import { describe } from 'vitest';
import { skipMariaDb } from './support/mariadb.js';
import { functionalSuite, raceSuite } from './support/store-suites.js';

describe.skipIf(skipMariaDb)('the store on MariaDB', () => functionalSuite('mariadb'));
describe.skipIf(skipMariaDb)('the store on MariaDB, raced', () => raceSuite('mariadb', 'on MariaDB'));
