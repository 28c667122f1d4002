import fc from 'fast-check';
import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  clampSubscribeQos,
  connectProtocolLevel,
  FrameError,
  FrameReader,
} from '../../lambdas/local/mqtt/frames.js';

const publish = (n: number) =>
  generate({
    cmd: 'publish',
    topic: 'dt/fleetwire/d/ems',
    payload: Buffer.alloc(n, 1),
    qos: 0,
    retain: false,
    dup: false,
  });

describe('FrameReader', () => {
  it('reassembles frames however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }),
        (sizes, cuts) => {
          const frames = sizes.map(publish);
          const stream = Buffer.concat(frames);
          const reader = new FrameReader(64 * 1024);
          const out: Buffer[] = [];
          let pos = 0;
          for (let i = 0; pos < stream.length; i++) {
            const n = cuts[i % cuts.length] as number;
            out.push(...reader.push(stream.subarray(pos, pos + n)));
            pos += n;
          }
          expect(out.map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.toString('hex')));
          expect(reader.pending).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses a packet over the limit from its header alone, and malformed lengths', () => {
    const reader = new FrameReader(1000);
    const big = publish(2000);
    expect(() => reader.push(big.subarray(0, 4))).toThrow(FrameError);
    expect(() => new FrameReader(1000).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(
      /malformed/,
    );
  });
});

describe('CONNECT inspection and SUBSCRIBE rewriting', () => {
  it('reads the protocol level of MQTT 3.1, 3.1.1 and 5 CONNECTs', () => {
    for (const protocolVersion of [3, 4, 5] as const) {
      const frame = generate({
        cmd: 'connect',
        protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion,
        clientId: 'dev-1',
        clean: true,
        keepalive: 30,
      });
      expect(connectProtocolLevel(frame)).toBe(protocolVersion);
    }
    expect(connectProtocolLevel(publish(1))).toBeUndefined();
    expect(connectProtocolLevel(Buffer.from([0x10, 0x02, 0x00]))).toBeUndefined();
  });

  it('lowers QoS 2 subscription requests to 1 and leaves the rest', () => {
    const frame = generate({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: 'a', qos: 2 },
        { topic: 'bb/c', qos: 0 },
        { topic: 'd', qos: 1 },
      ],
    });
    clampSubscribeQos(frame);
    const reader = new FrameReader(1000);
    expect(reader.push(frame)).toHaveLength(1);
    // options bytes follow each topic: a(2→1), bb/c(0), d(1)
    expect([frame[2 + 2 + 2 + 1], frame[2 + 2 + 2 + 1 + 1 + 2 + 4], frame.at(-1)]).toEqual([1, 0, 1]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        clampSubscribeQos(Buffer.from([0x82, ...bytes])); // never throws on garbage
      }),
    );
  });
});
