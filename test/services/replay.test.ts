import { describe, expect, it } from 'vitest';
import type { IngestRuleEvent } from '../../lambdas/core/topics.js';
import type { IngestOutcome } from '../../lambdas/services/ingest-service.js';
import {
  type DeadLetterMessage,
  type DeadLetterSource,
  parseDeadLetter,
  replayDeadLetters,
} from '../../lambdas/services/replay.js';

const EVENT: IngestRuleEvent = {
  payload: Buffer.from('{"x":1}').toString('base64'),
  topic: 'dt/fleetwire/dev-1/ems',
  clientId: 'dev-1',
  principal: 'p',
  receivedAt: 1_760_000_000_000,
};

const letter = (code = 'DEVICE_UNKNOWN', over: Record<string, unknown> = {}) =>
  JSON.stringify({
    code,
    reason: 'r',
    payloadBase64: EVENT.payload,
    topic: EVENT.topic,
    clientId: EVENT.clientId,
    receivedAt: EVENT.receivedAt,
    ...over,
  });

describe('parseDeadLetter', () => {
  it('recovers the rule event from each of the three shapes', () => {
    expect(parseDeadLetter(letter())).toEqual({
      ok: true,
      kind: 'dead-letter',
      code: 'DEVICE_UNKNOWN',
      event: { ...EVENT, principal: '' },
    });
    const ruleError = JSON.stringify({
      ruleName: 'r',
      topic: EVENT.topic,
      clientId: 'dev-1',
      base64OriginalPayload: EVENT.payload,
      failures: [],
    });
    expect(parseDeadLetter(ruleError, 42)).toEqual({
      ok: true,
      kind: 'rule-error',
      event: { ...EVENT, principal: '', receivedAt: 42 },
    });
    const lambda = JSON.stringify({
      requestContext: { condition: 'RetriesExhausted' },
      requestPayload: EVENT,
    });
    expect(parseDeadLetter(lambda)).toEqual({ ok: true, kind: 'lambda-failure', event: EVENT });
  });

  it('replays an INVALID_EVENT letter only when the stored event has become valid', () => {
    const inner = (e: unknown) =>
      letter('INVALID_EVENT', { payloadBase64: Buffer.from(JSON.stringify(e)).toString('base64') });
    expect(parseDeadLetter(inner(EVENT))).toMatchObject({ ok: true, event: EVENT });
    expect(parseDeadLetter(inner({ Records: [] }))).toMatchObject({ ok: false });
  });

  it('treats a missing client id as not-MQTT and refuses anything else', () => {
    const noClient = JSON.stringify({
      base64OriginalPayload: EVENT.payload,
      topic: EVENT.topic,
      failures: [],
    });
    expect(parseDeadLetter(noClient)).toMatchObject({ ok: true, event: { clientId: 'n/a' } });
    for (const body of ['', 'null', '[]', '{"a":1}', '{"payloadBase64":1,"code":"X"}']) {
      expect(parseDeadLetter(body).ok, body).toBe(false);
    }
  });
});

class MemorySource implements DeadLetterSource {
  visible: DeadLetterMessage[];
  deleted: string[] = [];
  released: string[] = [];
  constructor(messages: DeadLetterMessage[]) {
    this.visible = [...messages];
  }
  async receive(max: number) {
    return this.visible.splice(0, max);
  }
  async delete(m: DeadLetterMessage) {
    this.deleted.push(m.id);
  }
  async release(m: DeadLetterMessage) {
    this.released.push(m.id);
    this.visible.push(m);
  }
}

const msg = (id: string, body: string, sentAt = 1): DeadLetterMessage => ({
  id,
  body,
  handle: `h-${id}`,
  sentAt,
});
const outcome = (o: Partial<IngestOutcome>): IngestOutcome => ({
  status: 'stored',
  stored: 1,
  rejected: 0,
  deadLettered: false,
  warnings: 0,
  ...o,
});

describe('replayDeadLetters', () => {
  it('deletes what ingest accepts, keeps the rest, and looks at each message once', async () => {
    const source = new MemorySource([
      msg('ok', letter()),
      msg('again', letter('TOKEN_MISMATCH')),
      msg('boom', letter()),
      msg('junk', 'not json'),
      msg('new', letter(), 10_000),
    ]);
    const seen: string[] = [];
    const summary = await replayDeadLetters(
      source,
      async (e) => {
        seen.push(e.topic);
        if (seen.length === 2)
          return outcome({ status: 'rejected', deadLettered: true, code: 'TOKEN_MISMATCH' });
        if (seen.length === 3) throw Object.assign(new Error('down'), { code: 'STORE_RETRY' });
        return outcome({});
      },
      { startedAt: 5_000 },
    );
    expect(summary).toEqual({
      replayed: 3,
      succeeded: 1,
      failedAgain: 2,
      unreadable: 1,
      skipped: 1,
      codes: { TOKEN_MISMATCH: 1, STORE_RETRY: 1, UNREADABLE: 1 },
    });
    expect(source.deleted).toEqual(['ok']);
    expect(source.released.sort()).toEqual(['again', 'boom', 'junk', 'new']);
  });

  it('counts by code in a dry run without ingesting or deleting', async () => {
    const source = new MemorySource([msg('a', letter('A')), msg('b', letter('A')), msg('c', letter('B'))]);
    const summary = await replayDeadLetters(
      source,
      async () => {
        throw new Error('must not ingest');
      },
      { dryRun: true },
    );
    expect(summary).toMatchObject({ replayed: 0, codes: { A: 2, B: 1 } });
    expect(source.deleted).toEqual([]);
    expect(source.released).toHaveLength(3);
  });

  it('stops at max', async () => {
    const source = new MemorySource(Array.from({ length: 25 }, (_, i) => msg(String(i), letter())));
    const summary = await replayDeadLetters(source, async () => outcome({}), { max: 12 });
    expect(summary.succeeded).toBe(12);
    expect(source.visible).toHaveLength(13);
  });
});
