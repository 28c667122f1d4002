/**
 * Tiny benchmark harness: warm up, then time `fn` for at least `minMs`, reporting ops/s. Baselines are
 * measured in the same process so ratios survive noisy 2-core machines.
 */
export interface BenchResult {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
}

/** Time `fn` (called with the iteration index) and return ops/s. */
export function bench(name: string, fn: (i: number) => unknown, minMs = 500): BenchResult {
  let sink: unknown;
  for (let i = 0; i < 50; i++) sink = fn(i);
  let iters = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs * 1e6) {
    for (let k = 0; k < 16; k++) sink = fn(iters++);
    elapsed = Number(process.hrtime.bigint() - start);
  }
  if (sink === Symbol.for('never')) console.log(sink);
  const nsPerOp = elapsed / iters;
  return { name, opsPerSec: 1e9 / nsPerOp, nsPerOp };
}

/** Print a result line, with a ratio to `baseline` when given. */
export function report(r: BenchResult, baseline?: BenchResult): void {
  const ratio = baseline ? `  ${(r.nsPerOp / baseline.nsPerOp).toFixed(2)}× ${baseline.name}` : '';
  const per =
    r.nsPerOp >= 1e6 ? `${(r.nsPerOp / 1e6).toFixed(3)} ms/op` : `${(r.nsPerOp / 1e3).toFixed(2)} µs/op`;
  console.log(
    `${r.name.padEnd(48)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)} ops/s  ${per}${ratio}`,
  );
}
