import { describe, expect, it } from 'vitest';
import { FULLAUTH_MIGRATION_DEFAULTS, FullauthMigrationGenerator, fullauthMigrations } from '../src/index.js';
import { withDown } from '../src/migration-generator.js';

describe('fullauthMigrations()', () => {
  it('returns our defaults, with the host options merged over them', () => {
    expect(fullauthMigrations()).toEqual(FULLAUTH_MIGRATION_DEFAULTS);
    const merged = fullauthMigrations({ path: './db', disableForeignKeys: true, emit: 'js' });
    expect(merged).toMatchObject({ path: './db', disableForeignKeys: true, emit: 'js', transactional: true });
    expect(merged.generator).toBe(FullauthMigrationGenerator);
  });
});

describe('the initial migration down()', () => {
  it('drops the tables a creation-only migration created, last created first', () => {
    const up = [
      'create table "fullauth_users" ("id" uuid not null, primary key ("id"));',
      'create unique index "ix_fullauth_users_email" on "fullauth_users" ("email");',
      '',
      'create table "auth"."fullauth_refresh_tokens" ("id" uuid not null);',
      'alter table "auth"."fullauth_refresh_tokens" add constraint "x_fkey" foreign key ("user_id") references "fullauth_users" ("id") on delete cascade;',
    ];
    expect(withDown({ up, down: [] }).down).toEqual([
      'drop table if exists "auth"."fullauth_refresh_tokens" cascade;',
      'drop table if exists "fullauth_users" cascade;',
    ]);
  });

  it('leaves every other migration as MikroORM made it', () => {
    const computed = { up: ['create table "a" ("id" int);'], down: ['drop table if exists "a" cascade;'] };
    expect(withDown(computed)).toBe(computed);
    const alter = { up: ['alter table "a" drop column "b";'], down: [] };
    expect(withDown(alter)).toBe(alter);
    const blank = { up: ['select 1'], down: ['select 1'] };
    expect(withDown(blank)).toBe(blank);
  });
});
