import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CUSTODIA_CONFIG, type CustodiaConfig } from '#custodia/config';
import { StartupError } from '#custodia/errors';
import { JOB_NAMES, JobQueue, type JobHandler, type JobName } from './job-queue.js';

interface Registration {
  name: JobName;
  handler: JobHandler<JobName>;
  concurrency: number;
  /** Who registered it, for the message when two do. */
  owner: string;
}

/**
 * The handlers of the background jobs, one per job name, registered by the modules that own
 * them (in onModuleInit). A process that works the queue (CUSTODIA_WORK_QUEUE, the worker app)
 * checks at boot that every job name has exactly one handler and stops with a message naming
 * what is missing or doubled, rather than leaving jobs of some name to pile up unworked.
 */
@Injectable()
export class JobHandlers implements OnApplicationBootstrap {
  private readonly logger = new Logger('JobHandlers');
  private readonly registrations: Registration[] = [];

  constructor(
    private readonly queue: JobQueue,
    @Inject(CUSTODIA_CONFIG) private readonly config: CustodiaConfig,
  ) {}

  register<N extends JobName>(name: N, handler: JobHandler<N>, options: { concurrency: number; owner: string }): void {
    this.registrations.push({ name, handler: handler as JobHandler<JobName>, ...options });
  }

  /** Every job name with exactly one handler, or the StartupError that says which are not. */
  assertComplete(): void {
    const problems: string[] = [];
    for (const name of JOB_NAMES) {
      const owners = this.registrations.filter((r) => r.name === name).map((r) => r.owner);
      if (owners.length === 0) problems.push(`no handler for the job "${name}"`);
      if (owners.length > 1) problems.push(`${owners.length} handlers for the job "${name}" (${owners.join(', ')})`);
    }
    if (problems.length) throw new StartupError(`This process works the job queue but has ${problems.join('; ')}: a module that owns jobs is missing from it.`);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.start();
    if (!this.config.workQueue) return;
    this.assertComplete();
    for (const { name, handler, concurrency } of this.registrations) await this.queue.work(name, handler, concurrency);
    this.logger.log(`working ${this.registrations.map((r) => `${r.name} x${r.concurrency}`).join(', ')}`);
  }
}
