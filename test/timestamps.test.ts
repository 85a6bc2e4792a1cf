// The store reads PostgreSQL's timestamptz as text (MikroORM's pool hands it on so) with its own
// parser of PostgreSQL's form (src/store/rows.ts): here against the instants it stands for,
// across offsets, fractions and years, and against the text the real server writes.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { date, postgresTimestamp } from '../src/store/rows.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `ms` written as PostgreSQL writes it at `offsetSeconds` east of UTC, with `micros` (0–999) after the milliseconds and `digits` fractional digits. */
function written(ms: number, offsetSeconds: number, micros: number, digits: number): string {
  const local = new Date(ms + offsetSeconds * 1000);
  const fraction = pad(local.getUTCMilliseconds(), 3) + pad(micros, 3);
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const [h, m, s] = [Math.floor(abs / 3600), Math.floor(abs / 60) % 60, abs % 60];
  const offset = `${sign}${pad(h)}${m || s ? `:${pad(m)}` : ''}${s ? `:${pad(s)}` : ''}`;
  const day = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  return `${day} ${time}${digits ? `.${fraction.slice(0, digits)}` : ''}${offset}`;
}

describe("PostgreSQL's timestamp text", () => {
  it('reads as the instant it stands for: 20,000 random instants of years 100–9999, offsets to the second, 0–6 fractional digits', () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const first = Date.UTC(100, 0, 2);
    const last = Date.UTC(9999, 11, 30);
    for (let n = 0; n < 20_000; n++) {
      const ms = Math.floor(first + random() * (last - first));
      const offsetSeconds = Math.round((random() * 26 - 12) * 4) * 900 + (n % 10 === 0 ? Math.floor(random() * 3600) : 0);
      const digits = n % 7;
      const text = written(ms, offsetSeconds, Math.floor(random() * 1000), digits);
      // Fractions cut to milliseconds, as `new Date` cuts them.
      const unit = 10 ** Math.max(0, 3 - digits);
      const expected = ms - (((ms % unit) + unit) % unit);
      expect(postgresTimestamp(text), text).toBe(expected);
      expect(date(text)!.getTime(), text).toBe(expected);
      // V8's own reading of the same text agrees, where it reads it (four-digit years, offsets without seconds).
      if (ms >= Date.UTC(1000, 0, 2) && offsetSeconds % 60 === 0) expect(new Date(text).getTime(), text).toBe(expected);
    }
  });

  it('reads a year of five digits and years BC (1 BC is year 0)', () => {
    expect(postgresTimestamp('10000-01-01 00:00:00+00')).toBe(Date.UTC(10000, 0, 1));
    expect(postgresTimestamp('275760-09-13 00:00:00+00')).toBe(8.64e15);
    const ides = new Date(Date.UTC(2000, 2, 15, 12));
    ides.setUTCFullYear(-43);
    expect(postgresTimestamp('0044-03-15 12:00:00+00 BC')).toBe(ides.getTime());
    expect(date('0001-12-31 20:29:08-03:30:52 BC')!.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    // January and February of a leap year BC (5 BC is year -4, a leap year), and a longer year east of UTC.
    for (const [text, year, month, day, hour] of [
      ['0005-02-29 12:00:00+00 BC', -4, 1, 29, 12],
      ['0005-01-01 00:00:00+00 BC', -4, 0, 1, 0],
      ['0001-03-01 00:00:00+00 BC', 0, 2, 1, 0],
    ] as const) {
      const expected = new Date(Date.UTC(2000, month, day, hour));
      expected.setUTCFullYear(year, month, day);
      expect(postgresTimestamp(text), text).toBe(expected.getTime());
    }
    expect(postgresTimestamp('10000-01-01 05:29:59.999+05:30')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
  });

  it('leaves every other form to `new Date` (NaN here): infinity, no offset, a seventh digit, a bad field', () => {
    for (const text of [
      'infinity',
      '-infinity',
      '2026-12-03 02:24:26.609',
      '2026-12-03T02:24:26.609Z',
      '2026-12-03 02:24:26.1234567+00',
      '2026-13-03 02:24:26+00',
      '2026-12-03 24:00:00+00',
      '2026-12-03 02:24:26.+00',
      '2026-12-03 02:24:26+0530',
      '2026-12-03 02:24:26+05:30:',
      '2026-1a-03 02:24:26+00',
      '202-12-03 02:24:26+00',
      '2026-12-03 02:24:26+00 AD',
      '2026-12-03 02:24:26+00BC',
    ]) {
      expect(postgresTimestamp(text), text).toBeNaN();
    }
  });

  describe.skipIf(skipPostgres)('as the real server writes it', () => {
    let db: TestDatabase | undefined;
    afterAll(async () => db?.drop());

    it('in every session time zone (offsets of minutes, and of seconds before standard time), to the millisecond', async () => {
      db = await createDatabase('timestamps');
      const client = new pg.Client(db.url);
      await client.connect();
      try {
        const instants = [
          '2026-12-03T02:24:26.609Z',
          '2026-06-03T02:24:26.000Z',
          '2000-02-29T23:59:59.999Z',
          '1969-12-31T23:59:59.123Z',
          '1800-06-01T00:00:00.000Z',
          '0100-01-01T00:00:00.000Z',
          '0001-01-01T00:00:00.000Z',
          '9999-12-31T23:59:59.999Z',
        ];
        // Kolkata +05:30, St John's -03:30 (and -02:30 in summer), Amsterdam +00:19:32 in 1800;
        // west of UTC 0001-01-01 is a day of 1 BC, east of it 9999-12-31 one of 10000.
        const seen = new Set<string>();
        for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'America/Los_Angeles', 'Europe/Amsterdam', 'Pacific/Kiritimati']) {
          await client.query(`set time zone '${zone}'`);
          for (const instant of instants) {
            // Six fractional digits written: the store reads the milliseconds.
            const micro = `${instant.slice(0, -1)}789+00`;
            const { rows } = await client.query<{ text: string; micro: string }>('select $1::timestamptz::text as "text", $2::timestamptz::text as "micro"', [instant, micro]);
            expect(date(rows[0]!.text)!.toISOString(), `${zone}: ${rows[0]!.text}`).toBe(instant);
            expect(date(rows[0]!.micro)!.toISOString(), `${zone}: ${rows[0]!.micro}`).toBe(instant);
            // Read by the store's own parser (BC and a year of five digits included), not left to `new Date`.
            expect(postgresTimestamp(rows[0]!.micro), rows[0]!.micro).not.toBeNaN();
            if (rows[0]!.text.endsWith(' BC')) seen.add('BC');
            if (rows[0]!.text.startsWith('10000-')) seen.add('five digits');
            if (/[+-]\d\d:\d\d:\d\d( BC)?$/.test(rows[0]!.text)) seen.add('offset of seconds');
          }
        }
        expect([...seen].sort()).toEqual(['BC', 'five digits', 'offset of seconds']);
      } finally {
        await client.end();
      }
    });
  });
});
