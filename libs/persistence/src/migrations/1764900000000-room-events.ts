import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions, type TableIndexOptions } from 'typeorm';

/**
 * Room events for other services (issue #15): the outbox `room_events`, the publisher lease and
 * delivery cursors `room_event_dispatch`, and `room_event_dead_letters`.
 *
 * Same rules as the initial schema (one migration for every driver; InnoDB, utf8mb4, binary
 * collation on MySQL; `integer` auto-increment ids on SQLite), repeated here: a released
 * migration depends on nothing else in this package.
 */
export class RoomEvents1764900000000 implements MigrationInterface {
  readonly name = 'RoomEvents1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const type = queryRunner.connection.driver.options.type;
    const mysql = type === 'mysql' || type === 'mariadb';
    const utf8mb4 = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    const autoId: TableColumnOptions = { name: 'id', type: mysql ? 'bigint' : 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' };
    const string = (name: string, length: number, more: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      ...utf8mb4,
      ...more,
    });
    const text = (name: string): TableColumnOptions => ({ name, type: 'text', ...utf8mb4 });
    const bigint = (name: string): TableColumnOptions => ({ name, type: 'bigint' });
    const tables: { name: string; columns: TableColumnOptions[]; indices?: TableIndexOptions[] }[] = [
      {
        name: 'room_events',
        columns: [autoId, string('eventId', 191), string('roomId', 64), string('type', 64), text('body'), bigint('createdAt')],
        indices: [{ name: 'UQ_room_events_event_id', columnNames: ['eventId'], isUnique: true }],
      },
      {
        name: 'room_event_dispatch',
        columns: [string('name', 64, { isPrimary: true }), string('holder', 64), bigint('leaseUntil'), bigint('lastId')],
      },
      {
        name: 'room_event_dead_letters',
        columns: [
          autoId,
          string('target', 64),
          string('url', 500, { isNullable: true }),
          string('eventId', 191),
          string('roomId', 64),
          string('type', 64),
          text('body'),
          { name: 'attempts', type: 'int' },
          string('lastError', 500),
          bigint('firstTriedAt'),
          bigint('deadAt'),
        ],
        indices: [{ name: 'IDX_room_event_dead_letters_dead_at', columnNames: ['deadAt'] }],
      },
    ];
    for (const { name, columns, indices = [] } of tables) {
      await queryRunner.createTable(new Table({ name, columns, ...(mysql ? { engine: 'InnoDB' } : {}) }));
      if (mysql) await queryRunner.query(`ALTER TABLE \`${name}\` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      for (const index of indices) await queryRunner.createIndex(name, new TableIndex(index));
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of ['room_event_dead_letters', 'room_event_dispatch', 'room_events']) await queryRunner.dropTable(name);
  }
}
