import { Column, type ValueTransformer } from 'typeorm';

/**
 * The type of a JSON-object column (room settings, audit details): write a
 * `Record<string, unknown>`, read one back. Declared as `{}`, not `Record<string, unknown>`,
 * because TypeORM's `insert()`/`update()` parameter type (QueryDeepPartialEntity) recurses into
 * property types and rejects `unknown` values (and gives up, TS2589, on a recursive JSON type);
 * `{}` has no keys to recurse into, accepts any object, and is assignable to
 * `Record<string, unknown>` when read. Validate the shape at the API boundary.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type JsonObject = {};

/**
 * `bigint` columns (epoch milliseconds, auto-increment ids) as JS numbers. mysql2 returns BIGINT
 * as a string (TypeORM turns on `bigNumberStrings`), better-sqlite3 returns a number. Every value
 * we store stays below 2^53, so the conversion is exact.
 */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null | undefined) => (value === null || value === undefined ? value : Number(value)),
};

/** A nullable `text` column holding a JSON object. */
export const nullableJsonObjectText: ValueTransformer = {
  to: (value: JsonObject | null | undefined) => (value === undefined || value === null ? value : JSON.stringify(value)),
  from: (value: string | null | undefined) => (value === null || value === undefined ? value : (JSON.parse(value) as JsonObject)),
};

/** A non-null `text` column holding a JSON object, `{}` when unset. */
export const jsonObjectText: ValueTransformer = {
  to: (value: JsonObject | null | undefined) => JSON.stringify(value ?? {}),
  from: (value: string | null | undefined) => (value === null || value === undefined || value === '' ? {} : (JSON.parse(value) as JsonObject)),
};

/** Epoch milliseconds: a `bigint` column, read back as a number. */
export function epochMillis(options: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ type: 'bigint', nullable: options.nullable ?? false, transformer: bigintAsNumber });
}

/**
 * An auto-increment primary key `id`, read back as a number. The entity says `bigint`, the
 * migration makes it `integer` on SQLite (the only type SQLite auto-increments, 64-bit there).
 */
export function autoIncrementId(): PropertyDecorator {
  return Column({ type: 'bigint', primary: true, generated: 'increment', transformer: bigintAsNumber });
}
