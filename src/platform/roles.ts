import { repeatEvery } from "./shared/backoff.ts";
import type { Logger } from "./observability/logger.ts";

/**
 * The one shape of everything a process runs: relay, trimmer, purger, consumer routers, live
 * hubs, the api. The composition root starts them in order and stops them in reverse; readiness
 * reports every role that should be running and is not.
 */
export interface Role {
  /** As /ready names it when it stops ("relay", "consumer inventory", "live hub orders"). */
  readonly name: string;
  start(): Promise<void> | void;
  /** Finishes the work in flight, then returns. */
  stop(): Promise<void>;
  /** True while it does its job (its loops catch their own errors and back off). */
  readonly running: boolean;
}

/** A role that runs `task` every `intervalMs` until stopped (retention chores). */
export class PeriodicRole implements Role {
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  get running(): boolean {
    return this.loop !== undefined && !this.stopping.signal.aborted;
  }

  start(): void {
    this.loop = repeatEvery(this.intervalMs, this.stopping.signal, this.task, (err) =>
      this.log.warn({ err, role: this.name }, `${this.name} failed; will try again`),
    );
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }
}
