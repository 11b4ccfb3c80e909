import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A wrong password asked of GET /target: counts toward the client's IP limits of the channel. */
@Entity({ name: 'otp_api_guesses' })
@Index('ix_otp_api_guesses_ip', ['clientId', 'channel', 'ip', 'guessedAt'])
@Index('ix_otp_api_guesses_guessed_at', ['guessedAt'])
export class OtpApiGuess {
  @PrimaryColumn({
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    generated: 'identity',
    primaryKeyConstraintName: 'pk_otp_api_guesses',
  })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ type: 'varchar', length: 16 })
  channel!: string;

  @Column({ type: 'varchar', length: 64 })
  ip!: string;

  @Column({ name: 'guessed_at', type: 'timestamptz' })
  guessedAt!: Date;
}
