import { Column, Index, PrimaryColumn } from 'typeorm';
import { epochMillis, jsonObjectText, type JsonObject } from './columns';
import { defineEntity } from './define-entity';

export type RoomStatus = 'open' | 'closed';

/**
 * A configured room. The live room (members, seats taken) is replicated state in libs/cluster;
 * this row is what survives a restart of the whole cluster.
 */
export class RoomEntity {
  /** The room id used on the wire. */
  id!: string;
  /** Unique, compared byte for byte (case-sensitive) on every driver. */
  name!: string;
  capacity!: number;
  seats!: number;
  /** A closed room refuses joins. */
  status!: RoomStatus;
  /** Free-form room settings (JSON in a text column); `{}` when unset. */
  settings!: JsonObject;
  /** Epoch milliseconds. */
  createdAt!: number;
  /** Epoch milliseconds. */
  updatedAt!: number;
}

defineEntity(RoomEntity, {
  table: 'rooms',
  columns: {
    id: PrimaryColumn({ type: 'varchar', length: 64 }),
    name: Column({ type: 'varchar', length: 128 }),
    capacity: Column({ type: 'int' }),
    seats: Column({ type: 'int' }),
    status: Column({ type: 'varchar', length: 16 }),
    settings: Column({ type: 'text', transformer: jsonObjectText }),
    createdAt: epochMillis(),
    updatedAt: epochMillis(),
  },
  indices: [Index('UQ_rooms_name', ['name'], { unique: true })],
});
