/**
 * `fleetwire replay`: push dead-lettered messages back through ingest once their cause is fixed.
 *
 * ```
 * fleetwire replay [--function <ingest-function>] [--queue-url <url>] [--max N] [--dry-run] [--wait S] [--verbose]
 * ```
 *
 * Configuration is the ingest function's own: with `--function` it is read from the deployed function
 * (`lambda:GetFunctionConfiguration`), otherwise from the environment (the variables of
 * lambdas/handlers/ingest-config.ts). The queue defaults to the function's dead-letter queue; pass the
 * Lambda failure queue with `--queue-url` to replay events that exhausted Lambda's retries.
 *
 * Each message is re-ingested in this process with the same adapters as the Lambda, except that a
 * message refused again is NOT dead-lettered a second time: it stays in the queue untouched. Accepted
 * messages are deleted. Prints one JSON summary line:
 * `{"replayed","succeeded","failedAgain","unreadable","skipped","codes"}`. Exit status 0 when nothing
 * failed again, 2 otherwise.
 */
import { INGEST_ENV } from '../../core/deployment-contract.js';
import type { DeadLetter, DeadLetterSink } from '../../ports/dead-letters.js';
import { EXIT_REJECTED, parseFlags, UsageError } from '../io.js';

const HELP = `usage: fleetwire replay [options]

Re-ingest dead-lettered messages; delete the ones that now succeed.

options:
  --function <name>   read the configuration from this deployed ingest function
  --queue-url <url>   queue to read (default: the ingest dead-letter queue)
  --max <n>           most messages to look at (default 1000)
  --dry-run           only count messages by code; change nothing
  --wait <seconds>    SQS long-poll wait per receive (default 2)
  --verbose           one JSON line per message on stderr
`;

/** Keeps the dead letter a replayed message would have produced, instead of sending it. */
class KeepLastLetter implements DeadLetterSink {
  last: DeadLetter | undefined;
  async send(letter: DeadLetter): Promise<void> {
    this.last = letter;
  }
}

async function functionEnvironment(name: string): Promise<Record<string, string>> {
  const { LambdaClient, GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
  const out = await new LambdaClient({}).send(new GetFunctionConfigurationCommand({ FunctionName: name }));
  return out.Environment?.Variables ?? {};
}

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer`);
  return n;
}

/** Run `fleetwire replay`. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    function: { type: 'string' },
    'queue-url': { type: 'string' },
    max: { type: 'string' },
    'dry-run': { type: 'boolean' },
    wait: { type: 'string' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const max = positiveInt(values.max, '--max', 1000);
  const wait = positiveInt(values.wait, '--wait', 2);
  if (wait > 20) throw new UsageError('--wait must be at most 20 seconds');

  // The function's settings first, then this shell's (endpoint overrides, credentials, region).
  const env: Record<string, string | undefined> = {
    ...(values.function ? await functionEnvironment(values.function) : {}),
    ...process.env,
  };
  const queueUrl = values['queue-url'] ?? env[INGEST_ENV.DEAD_LETTER_QUEUE_URL];
  if (!queueUrl) throw new UsageError(`give --queue-url, --function or ${INGEST_ENV.DEAD_LETTER_QUEUE_URL}`);

  const [{ createSqsClient }, { SqsDeadLetterSource }, { replayDeadLetters }] = await Promise.all([
    import('../../adapters/aws/clients.js'),
    import('../../adapters/aws/sqs-dead-letter-source.js'),
    import('../../services/replay.js'),
  ]);
  const source = new SqsDeadLetterSource(createSqsClient(), queueUrl, { waitSeconds: wait });
  const keep = new KeepLastLetter();
  let ingest: Parameters<typeof replayDeadLetters>[1] = async () => {
    throw new Error('unreachable in a dry run');
  };
  if (!values['dry-run']) {
    const [{ loadIngestConfig }, { createAwsIngestService }] = await Promise.all([
      import('../../handlers/ingest-config.js'),
      import('../../adapters/aws/ingest-wiring.js'),
    ]);
    // The service's own dead-letter queue is replaced below; any valid URL satisfies the schema.
    const config = loadIngestConfig({ [INGEST_ENV.DEAD_LETTER_QUEUE_URL]: queueUrl, ...env });
    const service = createAwsIngestService(config, env, {
      deadLetters: keep,
      log: {
        warn: (message, extra) => process.stderr.write(`${JSON.stringify({ warn: message, ...extra })}\n`),
      },
    });
    ingest = (event) => service.ingest(event);
  }
  const summary = await replayDeadLetters(source, ingest, {
    max,
    dryRun: values['dry-run'] ?? false,
    startedAt: Date.now(),
    ...(values.verbose ? { onMessage: (m) => process.stderr.write(`${JSON.stringify(m)}\n`) } : {}),
  });
  process.stdout.write(`${JSON.stringify({ ...summary, codes: { ...summary.codes } })}\n`);
  return summary.failedAgain + summary.unreadable > 0 ? EXIT_REJECTED : 0;
}
