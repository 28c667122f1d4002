/**
 * DBC decoding throughput: our compiled decoder (generated fast path, and the interpreter alone) next to
 * `candied` decoding the same frames in the same run, for a typical 8-byte ~8-signal message set and a
 * CAN FD 64-byte message; then `fleetwire decode-frames` wall time over 200k frames (process start,
 * I/O and formatting included).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Can, Dbc } from 'candied';
import { compileDbc, parseDbc } from '../lambdas/core/dbc/index.js';
import { bench, report } from './harness.js';

const MESSAGES = 16;

/** 16 classic messages × 8 signals (Intel and Motorola, scaled, signed, a value table). */
function classicDbc(): string {
  const lines = ['VERSION ""', '', 'NS_ :', '', 'BS_:', '', 'BU_: ECU', ''];
  for (let m = 0; m < MESSAGES; m++) {
    const id = 0x100 + m;
    lines.push(`BO_ ${id} Msg${m}: 8 ECU`);
    lines.push(` SG_ A${m} : 0|8@1+ (1,0) [0|255] "" ECU`);
    lines.push(` SG_ B${m} : 8|8@1- (1,0) [-128|127] "" ECU`);
    lines.push(` SG_ C${m} : 16|16@1+ (0.1,0) [0|6553.5] "km/h" ECU`);
    lines.push(` SG_ D${m} : 39|16@0+ (0.01,-100) [-100|555.35] "V" ECU`);
    lines.push(` SG_ E${m} : 48|4@1+ (1,0) [0|15] "" ECU`);
    lines.push(` SG_ F${m} : 52|4@1+ (1,0) [0|15] "" ECU`);
    lines.push(` SG_ G${m} : 56|6@1+ (2,0) [0|126] "%" ECU`);
    lines.push(` SG_ H${m} : 62|2@1+ (1,0) [0|3] "" ECU`);
    lines.push('');
  }
  for (let m = 0; m < MESSAGES; m++) lines.push(`VAL_ ${0x100 + m} F${m} 0 "Off" 1 "On" 2 "Error" ;`);
  return `${lines.join('\n')}\n`;
}

/** One CAN FD message, 64 bytes, 32 signals of 16 bits alternating Intel/Motorola. */
function fdDbc(): string {
  const lines = ['VERSION ""', '', 'BU_: ECU', '', 'BO_ 2147485696 FdMsg: 64 ECU'];
  for (let k = 0; k < 32; k++) {
    const byte = 2 * k;
    if (k % 2 === 0) lines.push(` SG_ S${k} : ${byte * 8}|16@1- (0.5,1) [0|0] "" ECU`);
    else lines.push(` SG_ S${k} : ${byte * 8 + 7}|16@0+ (0.25,0) [0|0] "" ECU`);
  }
  lines.push(
    'BA_DEF_ BO_ "VFrameFormat" ENUM "StandardCAN","ExtendedCAN","reserved","J1939PG","reserved","reserved","reserved","reserved","reserved","reserved","reserved","reserved","reserved","reserved","StandardCAN_FD","ExtendedCAN_FD";',
  );
  lines.push('BA_ "VFrameFormat" BO_ 2147485696 15;');
  return `${lines.join('\n')}\n`;
}

/** Deterministic pseudo-random bytes (xorshift), so runs are comparable. */
function randomFrames(count: number, len: number): Uint8Array[] {
  let x = 0x12345678;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const d = new Uint8Array(len);
    for (let k = 0; k < len; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      d[k] = x & 0xff;
    }
    out.push(d);
  }
  return out;
}

function candiedFor(text: string): Can {
  const dbc = new Dbc();
  const data = dbc.load(text);
  const can = new Can();
  can.database = data;
  return can;
}

let sink: unknown;

/**
 * Frames per CPU-second of this process: on a shared, loaded machine wall-clock rates drop with the
 * load, while CPU time still says what one core does.
 */
function perCpuSecond(fn: (i: number) => unknown, iterations: number): number {
  for (let i = 0; i < 1000; i++) sink = fn(i);
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) sink = fn(i);
  const used = process.cpuUsage(start);
  return iterations / ((used.user + used.system) / 1e6);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function run(): Promise<void> {
  // --- classic 8-byte frames -------------------------------------------------------------------
  const text = classicDbc();
  const frames = randomFrames(4096, 8);
  const ids = frames.map((_, i) => 0x100 + (i % MESSAGES));
  const ours = compileDbc(parseDbc(text));
  const interp = compileDbc(parseDbc(text), { generate: false });
  const can = candiedFor(text);
  const candiedFrames = frames.map((d, i) => can.createFrame(ids[i]!, [...d]));
  const mask = frames.length - 1;

  console.log(`8-byte frames, ${MESSAGES} messages × 8 signals (frames/s)`);
  const c8 = bench('candied decode', (i) => (sink = can.decode(candiedFrames[i & mask]!)));
  const f8 = bench(
    'fleetwire decode (generated fast path)',
    (i) => (sink = ours.decode(ids[i & mask]!, false, frames[i & mask]!)),
  );
  const i8 = bench(
    'fleetwire decode (interpreter only)',
    (i) => (sink = interp.decode(ids[i & mask]!, false, frames[i & mask]!)),
  );
  const ch8 = bench(
    'fleetwire decode --choices',
    (i) => (sink = ours.decode(ids[i & mask]!, false, frames[i & mask]!, { choices: true })),
  );
  report(c8);
  report(f8, c8);
  report(i8, c8);
  report(ch8, c8);
  const cpu8 = perCpuSecond((i) => ours.decode(ids[i & mask]!, false, frames[i & mask]!), 2_000_000);
  console.log(`  → fast path ${(f8.opsPerSec / c8.opsPerSec).toFixed(1)}× candied (same run)`);
  console.log(`  → fast path per CPU-second: ${fmt(cpu8)} frames/s per core (target ≥ 3,000,000)`);

  // --- CAN FD 64-byte frames ----------------------------------------------------------------------
  const fdText = fdDbc();
  const fdFrames = randomFrames(1024, 64);
  const fd = compileDbc(parseDbc(fdText));
  const fdInterp = compileDbc(parseDbc(fdText), { generate: false });
  const fdId = 0x800;
  const fm = fdFrames.length - 1;
  console.log('\nCAN FD 64-byte frames, 1 message × 32 signals (frames/s)');
  let cfd: ReturnType<typeof bench> | undefined;
  try {
    const fdCan = candiedFor(fdText);
    const fdCandied = fdFrames.map((d) => fdCan.createFrame(fdId, [...d], true));
    cfd = bench('candied decode', (i) => (sink = fdCan.decode(fdCandied[i & fm]!)));
    report(cfd);
  } catch (e) {
    console.log(`candied decode: not supported (${(e as Error).message.slice(0, 48)}…)`);
  }
  const ffd = bench(
    'fleetwire decode (generated fast path)',
    (i) => (sink = fd.decode(fdId, true, fdFrames[i & fm]!)),
  );
  const ifd = bench(
    'fleetwire decode (interpreter only)',
    (i) => (sink = fdInterp.decode(fdId, true, fdFrames[i & fm]!)),
  );
  report(ffd, cfd);
  report(ifd, cfd);
  const cpuFd = perCpuSecond((i) => fd.decode(fdId, true, fdFrames[i & fm]!), 300_000);
  console.log(`  → fast path per CPU-second: ${fmt(cpuFd)} frames/s per core`);

  // --- decode-frames over 200k frames -------------------------------------------------------------
  const lines: string[] = [];
  const hexFrames = frames.map((d) => Buffer.from(d).toString('hex'));
  for (let i = 0; i < 200_000; i++) lines.push(`{"id": ${ids[i & mask]}, "data": "${hexFrames[i & mask]}"}`);
  const input = `${lines.join('\n')}\n`;
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'fleetwire-bench-'));
  const tmpDbc = join(dir, 'classic.dbc');
  writeFileSync(tmpDbc, text);
  const bin = join(import.meta.dirname, '../bin/fleetwire.cjs');
  const inputPath = join(dir, 'frames.jsonl');
  writeFileSync(inputPath, input);
  const walls: number[] = [];
  const cpus: number[] = [];
  let outBytes = 0;
  for (let k = 0; k < 3; k++) {
    // bash's `time -p` gives the child's CPU time next to the wall time.
    const t0 = process.hrtime.bigint();
    const r = spawnSync(
      'bash',
      [
        '-c',
        `time -p "${process.execPath}" "${bin}" decode-frames --dbc "${tmpDbc}" < "${inputPath}" | wc -c`,
      ],
      { encoding: 'utf8' },
    );
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`decode-frames failed: ${r.stderr}`);
    outBytes = Number(r.stdout.trim());
    const user = /user\s+([\d.]+)/.exec(r.stderr);
    const sys = /sys\s+([\d.]+)/.exec(r.stderr);
    if (user && sys) cpus.push((Number(user[1]) + Number(sys[1])) * 1000);
  }
  rmSync(dir, { recursive: true, force: true });
  walls.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  console.log(
    `\nfleetwire decode-frames, 200,000 frames (${(input.length / 1e6).toFixed(1)} MB in, ${(outBytes / 1e6).toFixed(1)} MB out): wall best ${walls[0]!.toFixed(0)} ms, median ${walls[1]!.toFixed(0)} ms; CPU ${cpus.length ? `${cpus[0]!.toFixed(0)} ms` : 'n/a'} (target < 2000 ms)`,
  );
  if (sink === Symbol.for('never')) console.log(sink);
}
