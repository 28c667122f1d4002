/**
 * `fleetwire` command-line entry: dispatches to one module per command (lambdas/cli/commands/).
 */
import { reportError, UsageError } from './io.js';

/** A CLI command: takes its own argv, resolves to an exit status. */
export type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  decode: {
    summary: 'decode one payload into points or frames',
    load: async () => (await import('./commands/decode.js')).run,
  },
  'decode-frames': {
    summary: 'decode CAN frames (JSON lines) with a DBC file',
    load: async () => (await import('./commands/decode-frames.js')).run,
  },
  'dbc-lint': {
    summary: 'report the contents and problems of a DBC file',
    load: async () => (await import('./commands/dbc-lint.js')).run,
  },
  conformance: {
    summary: 'run the DBC conformance vectors',
    load: async () => (await import('./commands/conformance.js')).run,
  },
  replay: {
    summary: 're-ingest dead-lettered messages; delete the ones that now succeed',
    load: async () => (await import('./commands/replay.js')).run,
  },
  local: {
    summary: 'run the whole stack on this machine (MQTT/TLS broker, handlers, SQLite, API)',
    load: async () => (await import('./commands/local.js')).run,
  },
  simulate: {
    summary: 'simulate devices over MQTT/TLS: provision, publish telemetry, answer commands',
    load: async () => (await import('./commands/simulate.js')).run,
  },
  'register-device': {
    summary: 'provision a device in AWS: thing, certificate, policies, registry entry, token',
    load: async () => (await import('./commands/register-device.js')).run,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(16)}${c.summary}`);
  return `usage: fleetwire <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 64 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) return reportError(new UsageError(`unknown command "${name}"\n${usage()}`));
  try {
    return await (await cmd.load())(rest);
  } catch (e) {
    return reportError(e);
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    process.exitCode = reportError(e);
  },
);
