import { Column, PrimaryColumn } from 'typeorm';
import { epochMillis } from './columns';
import { defineEntity } from './define-entity';

/** A user known to the service. Rows are created the first time a user id is seen. */
export class UserEntity {
  /** The user id used on the wire (the join token's subject). */
  id!: string;
  /** Last display name seen, if any. */
  name!: string | null;
  /** Epoch milliseconds. */
  createdAt!: number;
  /** Epoch milliseconds. */
  updatedAt!: number;
}

defineEntity(UserEntity, {
  table: 'users',
  columns: {
    id: PrimaryColumn({ type: 'varchar', length: 64 }),
    name: Column({ type: 'varchar', length: 64, nullable: true }),
    createdAt: epochMillis(),
    updatedAt: epochMillis(),
  },
});
