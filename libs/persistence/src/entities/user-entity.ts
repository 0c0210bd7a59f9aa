import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../transformers';

/** A user known to the service. Rows are created the first time a user id is seen. */
@Entity({ name: 'users' })
export class UserEntity {
  /** The user id used on the wire (the join token's subject). */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** Last display name seen, if any. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  name!: string | null;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  createdAt!: number;

  /** Epoch milliseconds. */
  @Column({ type: 'bigint', transformer: bigintAsNumber })
  updatedAt!: number;
}
