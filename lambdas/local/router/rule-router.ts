/**
 * The local rule engine: for every message the broker accepted, find the topic rules that match it —
 * from the same definitions the CDK app deploys (lambdas/core/topics.ts `ingestRules`/`rulesForTopic`,
 * Basic Ingest included) — build the event the rule SQL would produce (`buildIngestRuleEvent`: base64
 * payload, `topic()` without the Basic Ingest prefix, `clientid()`, `principal()`, `timestamp()`) and hand
 * it to the ingest handler, exactly as IoT Core invokes the ingest Lambda. Device responses on
 * `cmd/<app>/<thing>/ack|res` go to the command service.
 *
 * Work goes through a bounded queue so a slow store never blocks the broker. Many invocations run at once
 * (256 by default): the handlers spend their time in the embedded store, whose writes the stack groups
 * into one transaction per turn of the event loop (adapters/local/telemetry-batcher.ts), so every
 * invocation in flight joins the next commit — with a handful in flight, each commit carried a handful
 * of messages and the commits capped the whole stack. Each message still is its own invocation, with its
 * own outcome, retries and dead letter. Like an asynchronous Lambda
 * invocation, a handler that throws is retried (twice by default, with backoff); what still fails — and
 * anything refused because the queue is full or left over at shutdown — goes to the dead-letter store
 * with the original payload, as the rule's error action sends it to SQS on AWS.
 */
import { isFleetwireError } from '../../core/errors.js';
import {
  buildIngestRuleEvent,
  type IngestRuleDefinition,
  type IngestRuleEvent,
  parseCommandTopic,
  resolveTopicConfig,
  rulesForTopic,
  type TopicConfig,
} from '../../core/topics.js';
import type { DeadLetterSink } from '../../ports/dead-letters.js';
import type { LocalLogger } from '../log.js';
import type { PublishedMessage } from '../mqtt/broker.js';
import { WorkQueue } from './work-queue.js';

/** Dead-letter codes of the router (the ingest service uses its own codes for what it rejects). */
export const ROUTER_CODES = Object.freeze({
  /** The queue was full: the store could not keep up. Replayable. */
  INGEST_OVERLOADED: 'The local ingest queue was full; the message was not processed',
  /** The handler kept throwing after its retries (an infrastructure failure). Replayable. */
  INGEST_FAILED: 'The ingest handler failed after retries',
  /** The stack stopped before the message was processed. Replayable. */
  INGEST_SHUTDOWN: 'The local stack stopped before the message was processed',
  /** The command service failed on a device response. */
  COMMAND_RESPONSE_FAILED: 'The command service failed to apply a device response',
});

/** Most topics whose matching rules are remembered. */
const MAX_CACHED_TOPICS = 10_000;

/** One unit of work. */
type Task =
  | { kind: 'ingest'; rule: string; event: IngestRuleEvent; attempt: number }
  | { kind: 'command'; deviceId: string; message: PublishedMessage; attempt: number };

/** Router counters (a live view; the console summary and tests read them). */
export interface RouterCounters {
  /** Messages offered by the broker. */
  received: number;
  /** Rule invocations queued (a message matching two rules counts twice). */
  routed: number;
  /** Messages no rule matched (delivered to subscribers only, as on AWS). */
  unrouted: number;
  /** Invocations that completed. */
  completed: number;
  /** Invocations retried after a throw. */
  retried: number;
  /** Invocations that failed after their retries. */
  failed: number;
  /** Messages written to the dead-letter store by the router. */
  deadLettered: number;
  /** Invocations refused because the queue was full. */
  overflow: number;
  /** Waiting now. */
  queued: number;
  /** Running now. */
  inFlight: number;
  /** Highest queue depth seen. */
  maxQueued: number;
  /** Messages held back (not yet queued, PUBACK waiting) because the queue was at its high-water mark. */
  held: number;
  /** Messages held back now. */
  heldNow: number;
}

/** What the router calls. */
export interface RuleRouterDeps {
  /** The ingest rules (from `ingestRules(topicConfig)`). */
  rules: readonly IngestRuleDefinition[];
  /** The ingest handler: the same code the Lambda runs. Throws only for failures worth retrying. */
  ingest: (event: IngestRuleEvent) => Promise<unknown>;
  /** Applies a device's command response (`cmd/<app>/<thing>/ack|res`). */
  commandResponse?: (deviceId: string, payload: Uint8Array) => Promise<unknown>;
  deadLetters: DeadLetterSink;
  log: LocalLogger;
  topicConfig?: Partial<TopicConfig>;
}

/** Tuning of the router. */
export interface RuleRouterOptions {
  /** Most invocations waiting. @default 10000 */
  capacity?: number;
  /**
   * Invocations run at once. They mostly wait for the store's next group commit, so this bounds how many
   * messages one commit can carry. @default 256
   */
  concurrency?: number;
  /** Delays before each retry of a throwing handler, ms (its length is the retry count). @default [200, 1000] */
  retryDelaysMs?: readonly number[];
  /**
   * Queue depth from which {@link RuleRouter.accept} holds new messages back (their PUBACK waits) until the
   * queue is down to half of it. Well under `capacity`, so a stack that falls behind slows its devices down
   * (TCP back-pressure) instead of dead-lettering as INGEST_OVERLOADED; `Infinity` turns this off (a full queue
   * then dead-letters at once). @default capacity / 2
   */
  highWater?: number;
}

/** The local rule router. */
export class RuleRouter {
  private readonly queue: WorkQueue<Task>;
  private readonly app: string;
  private readonly retryDelays: readonly number[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pendingRetries = new Set<Task>();
  private readonly highWater: number;
  private readonly lowWater: number;
  /** Messages held back by {@link accept}, oldest first from `heldHead`, queued once there is room. */
  private heldMessages: ({ msg: PublishedMessage; release: () => void } | undefined)[] = [];
  private heldHead = 0;
  /** Set by {@link close}: held messages are dead-lettered there, not queued. */
  private closing = false;
  /** Rules matching each topic seen (a device uses a few topics; matching filters costs per message). */
  private readonly rulesByTopic = new Map<string, readonly IngestRuleDefinition[]>();
  private readonly countersValue = {
    received: 0,
    routed: 0,
    unrouted: 0,
    completed: 0,
    retried: 0,
    failed: 0,
    deadLettered: 0,
    held: 0,
  };

  constructor(
    private readonly deps: RuleRouterDeps,
    opts: RuleRouterOptions = {},
  ) {
    this.app = resolveTopicConfig(deps.topicConfig).app;
    this.retryDelays = opts.retryDelaysMs ?? [200, 1000];
    const capacity = opts.capacity ?? 10_000;
    this.highWater = Math.max(1, Math.floor(opts.highWater ?? capacity / 2));
    this.lowWater = Math.floor(this.highWater / 2);
    this.queue = new WorkQueue<Task>((t) => this.run(t), {
      capacity,
      concurrency: opts.concurrency ?? 256,
    });
  }

  /** Counters. */
  get counters(): RouterCounters {
    const q = this.queue.stats;
    return {
      ...this.countersValue,
      heldNow: this.heldCount(),
      overflow: q.overflow,
      queued: q.queued,
      inFlight: q.inFlight,
      maxQueued: q.maxQueued,
    };
  }

  /**
   * Route one message the broker accepted. Never blocks and never throws. Returns undefined when the
   * message is queued, or — when the queue is at its high-water mark — a promise that resolves once it is
   * (the oldest held messages go first, as soon as the queue is down to half the mark). The broker holds
   * the PUBACK until then, and aedes reads a connection's next packets only once its current ones are
   * handled, so the devices are slowed down by TCP back-pressure, as a throttled IoT Core slows them.
   */
  accept(msg: PublishedMessage): Promise<void> | undefined {
    if (this.heldCount() > 0 || this.queue.stats.queued >= this.highWater) {
      this.countersValue.held++;
      return new Promise<void>((release) => this.heldMessages.push({ msg, release }));
    }
    this.route(msg);
    return undefined;
  }

  private route(msg: PublishedMessage): void {
    this.countersValue.received++;
    const tasks = this.tasksFor(msg);
    if (tasks.length === 0) {
      this.countersValue.unrouted++;
      return;
    }
    for (const task of tasks) {
      this.countersValue.routed++;
      if (!this.queue.offer(task)) this.deadLetter(task, 'INGEST_OVERLOADED', ROUTER_CODES.INGEST_OVERLOADED);
    }
  }

  private tasksFor(msg: PublishedMessage): Task[] {
    const tasks: Task[] = [];
    for (const rule of this.rulesFor(msg.topic)) {
      tasks.push({ kind: 'ingest', rule: rule.name, event: buildIngestRuleEvent(msg), attempt: 0 });
    }
    if (tasks.length === 0 && this.deps.commandResponse && msg.topic.startsWith('cmd/')) {
      const route = this.commandRoute(msg.topic);
      if (route && route.kind !== 'req')
        tasks.push({ kind: 'command', deviceId: route.thing, message: msg, attempt: 0 });
    }
    return tasks;
  }

  private heldCount(): number {
    return this.heldMessages.length - this.heldHead;
  }

  private takeHeld(): { msg: PublishedMessage; release: () => void } | undefined {
    if (this.heldCount() === 0) return undefined;
    const h = this.heldMessages[this.heldHead];
    this.heldMessages[this.heldHead] = undefined;
    this.heldHead++;
    if (this.heldHead > 1024 && this.heldHead * 2 > this.heldMessages.length) {
      this.heldMessages = this.heldMessages.slice(this.heldHead);
      this.heldHead = 0;
    }
    return h;
  }

  /** Once the queue is down to the low-water mark, queue held messages until it is back at the high one. */
  private releaseHeld(): void {
    if (this.closing || this.heldCount() === 0 || this.queue.stats.queued > this.lowWater) return;
    while (this.queue.stats.queued < this.highWater) {
      const h = this.takeHeld();
      if (!h) break;
      this.route(h.msg);
      h.release();
    }
  }

  /** Resolves once every accepted message has been processed (retries included). */
  async idle(): Promise<void> {
    for (;;) {
      await this.queue.idle();
      if (this.pendingRetries.size === 0 && this.heldCount() === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Stop: wait up to `timeoutMs` for queued work, then dead-letter whatever is left (queued or waiting
   * for a retry) so nothing is lost across a restart.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const left = [...this.pendingRetries, ...(await this.queue.close(timeoutMs))];
    // Held messages were received but never queued (and never acknowledged): keep them too.
    for (let h = this.takeHeld(); h; h = this.takeHeld()) {
      this.countersValue.received++;
      left.push(...this.tasksFor(h.msg));
      h.release();
    }
    this.pendingRetries.clear();
    await Promise.all(left.map((t) => this.deadLetter(t, 'INGEST_SHUTDOWN', ROUTER_CODES.INGEST_SHUTDOWN)));
  }

  private rulesFor(topic: string): readonly IngestRuleDefinition[] {
    let rules = this.rulesByTopic.get(topic);
    if (rules === undefined) {
      rules = rulesForTopic(topic, this.deps.rules);
      // Bounded: topics are per device, so a large fleet could otherwise grow it without limit.
      if (this.rulesByTopic.size >= MAX_CACHED_TOPICS) this.rulesByTopic.clear();
      this.rulesByTopic.set(topic, rules);
    }
    return rules;
  }

  private commandRoute(topic: string) {
    try {
      const r = parseCommandTopic(topic);
      return r.app === this.app ? r : undefined;
    } catch {
      return undefined;
    }
  }

  private async run(task: Task): Promise<void> {
    // The queue just gave up an item: held messages may fit now (checked once the pump is done).
    if (this.heldCount() > 0) queueMicrotask(() => this.releaseHeld());
    try {
      await this.runOnce(task);
    } finally {
      this.releaseHeld();
    }
  }

  private async runOnce(task: Task): Promise<void> {
    try {
      if (task.kind === 'ingest') await this.deps.ingest(task.event);
      else await this.deps.commandResponse?.(task.deviceId, task.message.payload);
      this.countersValue.completed++;
    } catch (err) {
      const delay = this.retryDelays[task.attempt];
      const what = task.kind === 'ingest' ? `rule ${task.rule}` : 'command response';
      const reason = errorText(err);
      if (delay !== undefined) {
        this.countersValue.retried++;
        this.deps.log.warn('router', `${what} failed (attempt ${task.attempt + 1}), retrying: ${reason}`);
        this.retryLater({ ...task, attempt: task.attempt + 1 }, delay);
        return;
      }
      this.countersValue.failed++;
      this.deps.log.warn('router', `${what} failed after ${task.attempt + 1} attempts: ${reason}`);
      const code = task.kind === 'ingest' ? 'INGEST_FAILED' : 'COMMAND_RESPONSE_FAILED';
      await this.deadLetter(task, code, `${ROUTER_CODES[code]}: ${reason}`);
    }
  }

  private retryLater(task: Task, delay: number): void {
    this.pendingRetries.add(task);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.pendingRetries.delete(task);
      if (!this.queue.offer(task))
        void this.deadLetter(task, 'INGEST_OVERLOADED', ROUTER_CODES.INGEST_OVERLOADED);
    }, delay);
    this.timers.add(timer);
  }

  private async deadLetter(task: Task, code: string, reason: string): Promise<void> {
    const base =
      task.kind === 'ingest'
        ? {
            payloadBase64: task.event.payload,
            topic: task.event.topic,
            clientId: task.event.clientId,
            receivedAt: task.event.receivedAt,
          }
        : {
            payloadBase64: task.message.payload.toString('base64'),
            topic: task.message.topic,
            clientId: task.message.clientId,
            receivedAt: task.message.receivedAt,
          };
    try {
      await this.deps.deadLetters.send({ code, reason: reason.slice(0, 500), ...base });
      this.countersValue.deadLettered++;
    } catch (err) {
      // The last resort failed too: say so loudly; the message is lost only if the disk is gone.
      this.deps.log.warn('router', `DEAD LETTER NOT STORED (${code}) for ${base.topic}: ${errorText(err)}`);
    }
  }
}

function errorText(err: unknown): string {
  if (isFleetwireError(err)) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
