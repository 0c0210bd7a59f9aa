import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions, type TableIndexOptions } from 'typeorm';

/**
 * The first schema: users, rooms, bans, chat_messages, audit_log, api_keys.
 *
 * One migration for every driver. Where MySQL/MariaDB and SQLite differ it asks the driver:
 * - auto-increment ids are BIGINT on MySQL, but SQLite only auto-increments `integer PRIMARY KEY`
 *   (a 64-bit rowid there anyway);
 * - MySQL tables are InnoDB and every string column is utf8mb4 (emoji are 4 bytes) with the binary
 *   collation `utf8mb4_bin`, so that ids and unique names compare byte for byte as they do in SQLite.
 *
 * A released migration never changes: it depends on nothing else in this package, and a schema
 * change is a new migration.
 */
export class InitialSchema1764400000000 implements MigrationInterface {
  readonly name = 'InitialSchema1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = isMysql(queryRunner);
    const c = columns(mysql);
    const tables: { name: string; columns: TableColumnOptions[]; indices?: TableIndexOptions[] }[] = [
      {
        name: 'users',
        columns: [c.string('id', 64, { isPrimary: true }), c.string('name', 64, { isNullable: true }), c.bigint('createdAt'), c.bigint('updatedAt')],
      },
      {
        name: 'rooms',
        columns: [
          c.string('id', 64, { isPrimary: true }),
          c.string('name', 128),
          c.int('capacity'),
          c.int('seats'),
          c.string('status', 16),
          c.text('settings'),
          c.bigint('createdAt'),
          c.bigint('updatedAt'),
        ],
        indices: [{ name: 'UQ_rooms_name', columnNames: ['name'], isUnique: true }],
      },
      {
        name: 'bans',
        columns: [
          c.autoId(),
          c.string('userId', 64),
          c.string('roomId', 64, { isNullable: true }),
          c.string('reason', 500, { default: "''" }),
          c.bigint('expiresAt', true),
          c.bigint('createdAt'),
          c.string('createdBy', 128),
          c.bigint('revokedAt', true),
        ],
        indices: [{ name: 'IDX_bans_user_room', columnNames: ['userId', 'roomId'] }],
      },
      {
        name: 'chat_messages',
        columns: [
          c.autoId(),
          c.string('roomId', 64),
          c.bigint('roomEpoch'),
          c.int('seq'),
          c.string('kind', 16),
          c.string('authorId', 64, { isNullable: true }),
          c.string('authorName', 64, { isNullable: true }),
          c.text('body'),
          c.bigint('sentAt'),
        ],
        indices: [
          { name: 'UQ_chat_messages_room_epoch_seq', columnNames: ['roomId', 'roomEpoch', 'seq'], isUnique: true },
          { name: 'IDX_chat_messages_room_id', columnNames: ['roomId', 'id'] },
        ],
      },
      {
        name: 'audit_log',
        columns: [
          c.autoId(),
          c.string('actor', 128),
          c.string('action', 64),
          c.string('targetType', 32),
          c.string('targetId', 128, { isNullable: true }),
          c.text('details', true),
          c.bigint('at'),
        ],
        indices: [
          { name: 'IDX_audit_log_at', columnNames: ['at'] },
          { name: 'IDX_audit_log_target', columnNames: ['targetType', 'targetId'] },
        ],
      },
      {
        name: 'api_keys',
        columns: [
          c.string('id', 32, { isPrimary: true }),
          c.string('name', 128),
          c.string('role', 16),
          c.string('hash', 64),
          c.bigint('createdAt'),
          c.bigint('lastUsedAt', true),
          c.bigint('revokedAt', true),
        ],
      },
    ];
    for (const { name, columns, indices = [] } of tables) {
      await queryRunner.createTable(new Table({ name, columns, ...(mysql ? { engine: 'InnoDB' } : {}) }));
      // Columns are utf8mb4 already; the table default also covers columns added by later migrations.
      if (mysql) await queryRunner.query(`ALTER TABLE \`${name}\` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      for (const index of indices) await queryRunner.createIndex(name, new TableIndex(index));
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of ['api_keys', 'audit_log', 'chat_messages', 'bans', 'rooms', 'users']) {
      await queryRunner.dropTable(name);
    }
  }
}

function isMysql(queryRunner: QueryRunner): boolean {
  const type = queryRunner.connection.driver.options.type;
  return type === 'mysql' || type === 'mariadb';
}

/** Column builders for one driver. */
function columns(mysql: boolean) {
  const utf8mb4 = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
  return {
    autoId: (): TableColumnOptions => ({
      name: 'id',
      type: mysql ? 'bigint' : 'integer',
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    }),
    string: (name: string, length: number, more: Partial<TableColumnOptions> = {}): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      ...utf8mb4,
      ...more,
    }),
    text: (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'text', isNullable, ...utf8mb4 }),
    int: (name: string): TableColumnOptions => ({ name, type: 'int' }),
    bigint: (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable }),
  };
}
