/**
 * The command timeout sweep of the local stack: the local stand-in for the scheduled command-sweep Lambda
 * (lambdas/handlers/command-sweep.ts). Every period it asks the command service to time out the open
 * commands past their deadline (`sweepExpired`, which lists them with the store's `listExpired`), so a
 * command to a device that never answers — or never connects — becomes TIMED_OUT with its
 * `command.finished` / `COMMAND_TIMED_OUT` system event, as on AWS.
 */
import type { CommandService } from '../services/command-service.js';

/** Commands timed out per `sweepExpired` call; a full page means there may be more, swept at once. */
export const SWEEP_PAGE = 500;
/** Most pages one sweep takes, so a huge backlog cannot hold the event loop (the next sweep goes on). */
const MAX_PAGES = 20;

/** A running command sweep. */
export interface CommandSweepTimer {
  /** Run one sweep now (after a running one); resolves with the number of commands it timed out. */
  runNow(): Promise<number>;
  /** Stop the timer and wait for a running sweep to finish. */
  stop(): Promise<void>;
}

/**
 * Run `service.sweepExpired()` every `intervalMs`, never two at once. The timer does not keep the process
 * alive. `onSwept` sees each sweep that timed something out; `onError` an unexpected failure (the timer
 * keeps going: the next sweep retries).
 */
export function startCommandSweep(
  service: Pick<CommandService, 'sweepExpired'>,
  intervalMs = 30_000,
  hooks: { onSwept?: (timedOut: number) => void; onError?: (e: unknown) => void } = {},
): CommandSweepTimer {
  if (!Number.isFinite(intervalMs) || intervalMs < 100)
    throw new RangeError('intervalMs must be at least 100');
  let running: Promise<number> | undefined;
  let stopped = false;
  const sweep = async (): Promise<number> => {
    let total = 0;
    for (let page = 0; page < MAX_PAGES && !stopped; page++) {
      // `sweepExpired` counts only the commands it moved; a page of SWEEP_PAGE listed may time out fewer
      // (a device answered meanwhile), so a short count can still leave more: the next period sees them.
      const n = await service.sweepExpired(SWEEP_PAGE);
      total += n;
      if (n < SWEEP_PAGE) break;
    }
    return total;
  };
  const run = (): Promise<number> => {
    if (running) return running.then(() => run());
    const p = sweep().then(
      (n) => {
        if (n > 0) hooks.onSwept?.(n);
        return n;
      },
      (e: unknown) => {
        hooks.onError?.(e);
        return 0;
      },
    );
    running = p.finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped && !running) void run();
  }, intervalMs);
  timer.unref();
  return {
    runNow: run,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
