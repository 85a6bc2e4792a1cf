import { uuidv7 } from 'uuidv7';

/**
 * Every primary key is a UUIDv7 made by the application (time ordered, so b-tree inserts
 * stay local). The `uuidv7` package implements RFC 9562 with a monotonic counter.
 */
export const newId = (): string => uuidv7();
