import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { StartupError } from '#custodia/errors';
import { loadMasterKey, masterKeyFile } from '#custodia/keyring';
import { TimestampAuthority } from '#custodia/timestamp';
import { CustodyLog } from './custody-log.js';
import { Sequencer } from './sequencer.js';
import { MasterKeyMismatch, SigningKeys } from './signing-keys.js';
import { TreeHeads } from './tree-heads.js';

/** The 32-byte master key (CUSTODIA_MASTER_KEY or the data folder's key file), read once. */
export const MASTER_KEY = Symbol('MASTER_KEY');

/** Runs the head loop for the application's lifetime and signs the first head at start. */
@Injectable()
class TreeHeadLoop implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly heads: TreeHeads,
    private readonly sequencer: Sequencer,
    private readonly keys: SigningKeys,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Integrates what an earlier run left queued, and signs; then the handover of a rotation
    // that a crash cut short (or that was made before retired keys signed one).
    await this.heads.publish();
    // The handover is a path for verifiers, not the log itself: one that cannot be signed now is
    // said and tried again at the next start, and the archive runs.
    const logger = new Logger('Custody');
    await this.keys.handOver().then(
      (signed) => signed && logger.log(`Signed ${signed} retired key handover(s)`),
      (error: unknown) => logger.warn(`A retired signing key's handover could not be signed (tried again at the next start): ${String(error)}`),
    );
    this.heads.start(this.config.treeHeadIntervalMs);
    if (this.config.sequencer) this.sequencer.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.sequencer.stop();
    await this.heads.stop();
  }
}

/** The custody log for every module that records actions. */
@Module({
  providers: [
    {
      provide: MASTER_KEY,
      inject: [CUSTODIA_CONFIG, DataSource],
      useFactory: async (config: CustodiaConfig, db: DataSource) => {
        const { key, source } = await loadMasterKey(config.masterKey, config.dataDir, async () => {
          const [sealed] = await db.query(`SELECT count(*)::int AS keys FROM custody_signing_keys`);
          return sealed.keys === 0
            ? null
            : `${masterKeyFile(config.dataDir)} is missing and CUSTODIA_MASTER_KEY is unset, but this archive's database holds secrets ` +
                "sealed with a master key (the custody log's signing key, victims' names): restore master.key from your backup, or set " +
                'CUSTODIA_MASTER_KEY to the key they were sealed with. A new key would open none of them, so none was made and nothing was written.';
        });
        if (source === 'generated') {
          new Logger('Custody').warn(
            `Generated a master key in ${config.dataDir}/master.key: back it up, or set CUSTODIA_MASTER_KEY`,
          );
        }
        return key;
      },
    },
    {
      provide: SigningKeys,
      inject: [DataSource, MASTER_KEY],
      useFactory: async (db: DataSource, key: Buffer) => {
        const keys = new SigningKeys(db, key);
        // Fails the start now, not at the first head, if the key cannot be opened: in a sentence.
        await keys.active().catch((error: unknown) => {
          throw error instanceof MasterKeyMismatch ? new StartupError(error.message) : error;
        });
        return keys;
      },
    },
    { provide: CustodyLog, inject: [DataSource], useFactory: (db: DataSource) => new CustodyLog(db) },
    {
      provide: Sequencer,
      inject: [DataSource, CustodyLog, CUSTODIA_CONFIG],
      useFactory: (db: DataSource, log: CustodyLog, config: CustodiaConfig) => {
        const logger = new Logger('Sequencer');
        return new Sequencer(db, log, {
          intervalMs: config.sequencerIntervalMs,
          electionMs: config.sequencerElectionMs,
          onError: (error) => logger.error(`custody sequencer: ${String(error)}`),
        });
      },
    },
    {
      provide: TreeHeads,
      inject: [DataSource, SigningKeys, CUSTODIA_CONFIG],
      useFactory: (db: DataSource, keys: SigningKeys, config: CustodiaConfig) => {
        const logger = new Logger('TreeHeads');
        // With CUSTODIA_TSA_CERT, a token whose chain does not lead to those certificates is refused at once.
        const trustedCertificatesPem = config.tsaCertFile ? [readFileSync(config.tsaCertFile, 'utf8')] : undefined;
        const tsa = config.tsaUrl ? new TimestampAuthority(config.tsaUrl, { trustedCertificatesPem }) : undefined;
        return new TreeHeads(db, keys, (error) => logger.error(`tree head: ${String(error)}`), tsa);
      },
    },
    TreeHeadLoop,
  ],
  exports: [CustodyLog, Sequencer, TreeHeads, SigningKeys, MASTER_KEY],
})
export class CustodyModule {}
