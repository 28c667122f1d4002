/**
 * DeadLetterSource on SQS, for `fleetwire replay`: the ingest dead-letter queue (Fleetwire dead letters
 * and IoT rule error actions) or the Lambda failure queue (on-failure destination records).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetterMessage, DeadLetterSource } from '../../services/replay.js';

/** Options of {@link SqsDeadLetterSource}. */
export interface SqsDeadLetterSourceOptions {
  /** Long-poll wait per receive, seconds (0–20). @default 2 */
  readonly waitSeconds?: number;
  /** How long received messages stay hidden while the replay runs, seconds. @default 900 */
  readonly visibilitySeconds?: number;
}

/** Reads dead letters from an SQS queue. */
export class SqsDeadLetterSource implements DeadLetterSource {
  private readonly wait: number;
  private readonly visibility: number;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    opts: SqsDeadLetterSourceOptions = {},
  ) {
    this.wait = Math.max(0, Math.min(20, opts.waitSeconds ?? 2));
    this.visibility = Math.max(30, Math.min(43_200, opts.visibilitySeconds ?? 900));
  }

  /** Up to `max` (≤ 10) messages. */
  async receive(max: number): Promise<DeadLetterMessage[]> {
    const out = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
        WaitTimeSeconds: this.wait,
        VisibilityTimeout: this.visibility,
        MessageSystemAttributeNames: ['SentTimestamp'],
        MessageAttributeNames: ['All'],
      }),
    );
    return (out.Messages ?? []).map((m) => {
      const sent = Number(m.Attributes?.SentTimestamp);
      return {
        id: m.MessageId ?? '',
        body: m.Body ?? '',
        handle: m.ReceiptHandle ?? '',
        ...(Number.isFinite(sent) ? { sentAt: sent } : {}),
      };
    });
  }

  /** Delete a replayed message. */
  async delete(message: DeadLetterMessage): Promise<void> {
    await this.client.send(
      new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.handle }),
    );
  }

  /** Make a message visible again, unchanged. */
  async release(message: DeadLetterMessage): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: message.handle,
        VisibilityTimeout: 0,
      }),
    );
  }
}
