import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintAsNumber, jsonObjectText, type JsonObject } from '../transformers';

export type RoomStatus = 'open' | 'closed';

/**
 * A configured room. The live room (members, seats taken) is replicated state in libs/cluster;
 * this row is what survives a restart of the whole cluster.
 */
@Entity({ name: 'rooms' })
@Index('UQ_rooms_name', ['name'], { unique: true })
export class RoomEntity {
  /** The room id used on the wire. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** Unique, compared byte for byte (case-sensitive) on every driver. */
  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'int' })
  capacity!: number;

  @Column({ type: 'int' })
  seats!: number;

  /** A closed room refuses joins. */
  @Column({ type: 'varchar', length: 16 })
  status!: RoomStatus;

  /** Free-form room settings (JSON in a text column); `{}` when unset. */
  @Column({ type: 'text', transformer: jsonObjectText })
  settings!: JsonObject;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  createdAt!: number;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  updatedAt!: number;
}
