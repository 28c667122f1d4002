/**
 * What `fleetwire simulate` prints: a live progress line (rewritten in place on a terminal, one plain
 * line per period otherwise) and the final summary as text or JSON.
 */
import type { SimulationProgress, SimulationSummary } from './runner.js';

function n(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** One progress line (no newline). */
export function progressLine(p: SimulationProgress): string {
  const secs = (p.elapsedMs / 1000).toFixed(1);
  const parts = [
    `${secs}s`,
    p.phase === 'connecting'
      ? `connecting ${p.connected}/${p.devices}`
      : `${p.connected}/${p.devices} connected`,
    `sent ${n(p.sent)}${p.target !== undefined ? `/${n(p.target)}` : ''}`,
    `acked ${n(p.acked)}`,
    `errors ${n(p.errors)}`,
    `${n(p.currentRate)} msg/s`,
  ];
  const c = p.commands;
  if (c.received > 0) parts.push(`commands ${c.received} (${c.succeeded} ok, ${c.failed} failed)`);
  if (p.phase === 'draining') parts.push('waiting for acknowledgements');
  return parts.join('  ');
}

/** Writes progress to a stream: in place on a TTY, a line per `plainEveryMs` otherwise. */
export class ProgressPrinter {
  private lastPlain = 0;
  private width = 0;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly plainEveryMs = 5000,
  ) {}

  /** Show `p`. */
  update(p: SimulationProgress): void {
    // The summary follows the last update; a "done" line would only repeat it.
    if (p.phase === 'done') return;
    const line = progressLine(p);
    if (this.out.isTTY) {
      const pad = Math.max(0, this.width - line.length);
      this.width = line.length;
      this.out.write(`\r${line}${' '.repeat(pad)}`);
      return;
    }
    if (p.elapsedMs - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = p.elapsedMs;
      this.out.write(`${line}\n`);
    }
  }

  /** End the in-place line. */
  finish(): void {
    if (this.out.isTTY && this.width > 0) this.out.write('\n');
    this.width = 0;
  }
}

/** The summary as text. */
export function summaryText(s: SimulationSummary, extra: string[] = []): string {
  const lines = [
    `${s.aborted ? 'stopped early' : 'done'}: ${s.devices.connected}/${s.devices.requested} device(s) connected, format ${s.format}${s.compress ? ' (compressed)' : ''}, QoS ${s.qos}`,
    `  sent          ${n(s.sent)} message(s), ${n(s.points)} point(s) in ${s.durationSeconds.toFixed(1)} s (${s.rate.toFixed(1)} msg/s)`,
    `  acknowledged  ${n(s.acknowledged)} by the broker${s.qos === 1 ? ' (PUBACK)' : ' (QoS 0: written to the socket)'}`,
    `  commands      ${s.commands.received} received, ${s.commands.acknowledged} acknowledged, ${s.commands.succeeded} succeeded, ${s.commands.failed} failed, ${s.commands.rejected} rejected`,
    `  errors        ${n(s.errors)}${s.devices.failed > 0 ? ` (${s.devices.failed} device(s) could not connect)` : ''}${s.reconnects > 0 ? `, ${s.reconnects} reconnect(s)` : ''}`,
    ...extra.map((e) => `  ${e}`),
    ...s.errorSamples.map((e) => `    ${e}`),
  ];
  return `${lines.join('\n')}\n`;
}
