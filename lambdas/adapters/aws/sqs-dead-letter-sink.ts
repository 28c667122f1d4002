/**
 * DeadLetterSink on SQS. The body is the {@link DeadLetter} JSON (the original payload in base64 with its
 * reason); message attributes carry the code and tenant so operators can filter without parsing, and a
 * `fleetwire-kind` attribute marks the body format for `fleetwire replay`.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterSink } from '../../ports/dead-letters.js';

/** Message attribute naming the body format. */
export const DEAD_LETTER_KIND_ATTRIBUTE = 'fleetwire-kind';
/** Value of {@link DEAD_LETTER_KIND_ATTRIBUTE} for ingest dead letters. */
export const DEAD_LETTER_KIND = 'ingest-dead-letter/v1';
/** SQS message size limit (body + attributes), bytes. */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
/** Headroom kept for message attributes. */
const ATTRIBUTE_HEADROOM = 1024;

/** Serialise a dead letter within the SQS size limit: the rejection list is shortened first, never the payload. */
export function deadLetterBody(letter: DeadLetter): string {
  let body = JSON.stringify(letter);
  const limit = SQS_MAX_MESSAGE_BYTES - ATTRIBUTE_HEADROOM;
  if (Buffer.byteLength(body) <= limit || !letter.rejected?.length) return body;
  const total = letter.rejected.length;
  let keep = Math.min(total, 100);
  while (keep >= 0) {
    const trimmed = {
      ...letter,
      rejected: letter.rejected.slice(0, keep),
      reason: `${letter.reason} (${total - keep} of ${total} rejections omitted for size)`,
    };
    body = JSON.stringify(trimmed);
    if (Buffer.byteLength(body) <= limit) return body;
    keep = keep === 0 ? -1 : Math.floor(keep / 2);
  }
  return body;
}

/** The SQS dead-letter sink. */
export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Send one dead letter. SDK errors propagate: a letter that cannot be kept must fail the invocation. */
  async send(letter: DeadLetter): Promise<void> {
    const attrs: Record<string, { DataType: string; StringValue: string }> = {
      [DEAD_LETTER_KIND_ATTRIBUTE]: { DataType: 'String', StringValue: DEAD_LETTER_KIND },
      code: { DataType: 'String', StringValue: letter.code },
    };
    if (letter.tenant) attrs.tenant = { DataType: 'String', StringValue: letter.tenant };
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: deadLetterBody(letter),
        MessageAttributes: attrs,
      }),
    );
  }
}
