// E-mail normalisation is fastapi-fullauth's `email.strip().lower()` with Python's semantics:
// a table of tricky inputs, the expected outputs as Python 3.11 computes them (re-checked
// against the Python interpreter itself when it is there).
import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../src/index.js';
import { PYTHON, pythonUnavailable } from './support/python.js';
import { execFileSync } from 'node:child_process';

/** [input, Python's input.strip().lower()] */
const TABLE: [string, string][] = [
  ["Ann@Example.com", "ann@example.com"],
  ["  ann@example.com  ", "ann@example.com"],
  ["\tANN@EXAMPLE.COM\n", "ann@example.com"],
  ["\ufeffAnn@Example.com", "\ufeffann@example.com"],
  ["Ann@Example.com\ufeff", "ann@example.com\ufeff"],
  ["Ann@Example.com\u001f", "ann@example.com"],
  ["\u001cann@x.io\u001d", "ann@x.io"],
  ["\u001eann@x.io", "ann@x.io"],
  ["ann@x.io\u0085", "ann@x.io"],
  ["\u0085ann@x.io", "ann@x.io"],
  ["\u00a0ann@x.io\u00a0", "ann@x.io"],
  ["\u2000ann@x.io\u200a", "ann@x.io"],
  ["\u2028ann@x.io\u2029", "ann@x.io"],
  ["\u202fann@x.io\u205f", "ann@x.io"],
  ["\u3000ann@x.io\u3000", "ann@x.io"],
  ["\u1680ann@x.io", "ann@x.io"],
  ["\u200bann@x.io\u200b", "\u200bann@x.io\u200b"],
  ["\u180eann@x.io", "\u180eann@x.io"],
  ["\u000bann@x.io\f", "ann@x.io"],
  ["\rann@x.io\r\n", "ann@x.io"],
  ["\u00c4NN@EXAMPLE.DE", "\u00e4nn@example.de"],
  ["\u0130STANBUL@x.tr", "i\u0307stanbul@x.tr"],
  ["\u03a3\u039f\u03a6\u0399\u0391@x.gr", "\u03c3\u03bf\u03c6\u03b9\u03b1@x.gr"],
  ["\u0391\u03a3@x.gr", "\u03b1\u03c2@x.gr"],
  ["Stra\u00dfe@x.de", "stra\u00dfe@x.de"],
  ["\u01c5@x.io", "\u01c6@x.io"],
  ["\u216b@x.io", "\u217b@x.io"],
  ["\uff21\uff2e\uff2e@\uff58.io", "\uff41\uff4e\uff4e@\uff58.io"],
  ["ann @x.io", "ann @x.io"],
  [" a n n@x.io ", "a n n@x.io"],
  ["ANN@X.IO\u0000", "ann@x.io\u0000"],
  ["\u00adann@x.io", "\u00adann@x.io"],
  ["ann@x.io\u2060", "ann@x.io\u2060"],
  ["\u0130@x.io", "i\u0307@x.io"],
  ["K@x.io", "k@x.io"],
  ["\u212a@x.io", "k@x.io"],
];

describe('normalizeEmail() as Python\'s str.strip().lower()', () => {
  it.each(TABLE.map(([input, expected], i) => [i, JSON.stringify(input), input, expected] as const))('#%i %s', (_, __, input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it.skipIf(pythonUnavailable(['json']) !== undefined)('the table is what the Python interpreter computes', () => {
    const out = execFileSync(PYTHON, ['-c', 'import json,sys; print(json.dumps([s.strip().lower() for s in json.load(sys.stdin)]))'], {
      input: JSON.stringify(TABLE.map(([input]) => input)),
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual(TABLE.map(([, expected]) => expected));
    expect(TABLE.length).toBeGreaterThanOrEqual(30);
  });
});
