/**
 * The local stack's console log: one line per event, with a local time and a short component tag.
 * Tests pass a silent logger; `fleetwire local --verbose` adds debug lines.
 */

/** What the local stack components log through. */
export interface LocalLogger {
  info(component: string, message: string): void;
  warn(component: string, message: string): void;
  debug(component: string, message: string): void;
}

/** A logger that prints nothing (tests). */
export const silentLogger: LocalLogger = Object.freeze({
  info: () => undefined,
  warn: () => undefined,
  debug: () => undefined,
});

/** A console logger writing to `out` (stdout by default). */
export function consoleLogger(opts: { verbose?: boolean; out?: (line: string) => void } = {}): LocalLogger {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stamp = () => new Date().toISOString().slice(11, 23);
  const line = (level: string, component: string, message: string) =>
    out(`${stamp()} ${level} ${component.padEnd(6)} ${message}`);
  return {
    info: (c, m) => line(' ', c, m),
    warn: (c, m) => line('!', c, m),
    debug: (c, m) => {
      if (opts.verbose) line('·', c, m);
    },
  };
}
