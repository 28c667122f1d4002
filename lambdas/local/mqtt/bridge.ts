/**
 * The stream aedes sees for one TLS connection. aedes speaks MQTT 3.1/3.1.1 only; devices may speak MQTT 5
 * (AWS IoT Core supports both). The bridge reads the first CONNECT packet and then either passes bytes
 * through unchanged (3.1/3.1.1) or translates every packet between MQTT 5 (device side) and 3.1.1 (aedes
 * side) with mqtt-packet:
 *
 * - device → broker: CONNECT (clean = cleanStart or session expiry 0), PUBLISH (properties dropped; a topic
 *   alias is a protocol error since none is granted), SUBSCRIBE (QoS 2 lowered to 1; no-local / retain-as-published /
 *   retain-handling options and subscription identifiers are not supported and dropped), UNSUBSCRIBE,
 *   PUBACK/PUBREC/PUBREL/PUBCOMP, PINGREQ, DISCONNECT (reason 0x04 keeps the will, as MQTT 5 says), AUTH
 *   (refused: no enhanced authentication);
 * - broker → device: CONNACK with reason codes and the server's capabilities (maximum QoS 1, maximum packet
 *   size, no shared subscriptions or subscription identifiers), SUBACK failures as 0x87 Not authorized,
 *   UNSUBACK with one reason code per topic, and a DISCONNECT with a reason code before the broker closes
 *   a connection for a policy violation.
 *
 * Every packet, in every version, goes through {@link FrameReader}, which enforces the packet size limit
 * before buffering. The bridge also carries the TLS peer's identity for the broker's authentication.
 */
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { generate, type Packet, parser } from 'mqtt-packet';
import { clampSubscribeQos, connectProtocolLevel, FrameError, FrameReader } from './frames.js';

/** The client certificate the TLS layer verified. */
export interface PeerIdentity {
  /** SHA-256 of the certificate DER, lowercase hex. */
  fingerprint: string;
  /** Subject CN, when the certificate has exactly one. */
  commonName: string | undefined;
}

/** MQTT 5 reason codes used by the bridge (MQTT 5 §2.4). */
export const REASON = Object.freeze({
  success: 0x00,
  unspecified: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  unsupportedProtocol: 0x84,
  clientIdNotValid: 0x85,
  badCredentials: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  badAuthMethod: 0x8c,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  qosNotSupported: 0x9b,
});

/** MQTT 3.1.1 CONNACK return codes → MQTT 5 CONNACK reason codes. */
const CONNACK_V5: Readonly<Record<number, number>> = Object.freeze({
  0: REASON.success,
  1: REASON.unsupportedProtocol,
  2: REASON.clientIdNotValid,
  3: REASON.serverUnavailable,
  4: REASON.badCredentials,
  5: REASON.notAuthorized,
});

/** Options of {@link MqttBridge}. */
export interface MqttBridgeOptions {
  /** Largest remaining length of any packet, bytes. */
  maxPacketBytes: number;
  /** How long a closing socket may take to flush before it is destroyed, ms. @default 2000 */
  closeGraceMs?: number;
}

type Mode = 'detect' | 'v4' | 'v5';

/** One device connection as aedes sees it. */
export class MqttBridge extends Duplex {
  /** The verified client certificate. */
  readonly peer: PeerIdentity;
  /** Protocol level of the CONNECT (3, 4 or 5) once known. */
  protocolLevel: number | undefined;
  /** Reason code sent in a DISCONNECT (MQTT 5 only) when the broker closes this connection. */
  disconnectReason: number | undefined;

  private mode: Mode = 'detect';
  private readonly frames: FrameReader;
  private readonly fromDevice = parser();
  private readonly fromBroker = parser({ protocolVersion: 4 });
  /** Topic counts of pending MQTT 5 UNSUBSCRIBEs, by message id (UNSUBACK needs one code per topic). */
  private readonly unsubscribeCounts = new Map<number, number>();
  /** The device's Maximum Packet Size (MQTT 5), if it declared one. */
  private deviceMaxPacket: number | undefined;
  private readonly maxPacketBytes: number;
  private readonly closeGraceMs: number;
  private outbound: Buffer[] = [];
  private corked = false;

  constructor(
    private readonly socket: TLSSocket,
    peer: PeerIdentity,
    opts: MqttBridgeOptions,
  ) {
    super({ allowHalfOpen: false });
    this.peer = peer;
    this.maxPacketBytes = opts.maxPacketBytes;
    this.closeGraceMs = opts.closeGraceMs ?? 2000;
    this.frames = new FrameReader(opts.maxPacketBytes);
    this.fromDevice.on('packet', (p: Packet) => this.deviceToBroker(p));
    this.fromDevice.on('error', (e: Error) => this.fail(e, REASON.malformed));
    this.fromBroker.on('packet', (p: Packet) => this.brokerToDevice(p));
    this.fromBroker.on('error', (e: Error) => this.destroy(e));

    socket.on('data', (chunk: Buffer) => this.onDeviceBytes(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
    socket.on('error', (e) => this.destroy(e));
  }

  /** The MQTT 5 Maximum Packet Size the broker announces (fixed header included). */
  get announcedMaxPacket(): number {
    return this.maxPacketBytes + 5;
  }

  private onDeviceBytes(chunk: Buffer): void {
    // Nothing a device sends may throw out of a socket listener (that would take the whole stack down).
    try {
      for (const frame of this.frames.push(chunk)) {
        if (this.mode === 'detect') {
          this.protocolLevel = connectProtocolLevel(frame);
          this.mode = this.protocolLevel === 5 ? 'v5' : 'v4';
        }
        if (this.mode === 'v4') {
          clampSubscribeQos(frame);
          if (!this.push(frame)) this.socket.pause();
        } else {
          this.fromDevice.parse(frame);
        }
        if (this.destroyed) return;
      }
    } catch (e) {
      this.fail(e as Error, e instanceof FrameError ? e.reasonCode : REASON.malformed);
    }
  }

  /** Close with an MQTT 5 reason code (when the device speaks MQTT 5). */
  private fail(err: Error, reasonCode: number): void {
    this.disconnectReason ??= reasonCode;
    this.destroy(err);
  }

  private toBroker(p: Packet): void {
    if (!this.push(generate(p, { protocolVersion: 4 }))) this.socket.pause();
  }

  private deviceToBroker(p: Packet): void {
    switch (p.cmd) {
      case 'connect': {
        if (p.properties?.authenticationMethod !== undefined) {
          this.sendToDevice({ cmd: 'connack', reasonCode: REASON.badAuthMethod, sessionPresent: false });
          this.endSoon();
          return;
        }
        this.deviceMaxPacket = p.properties?.maximumPacketSize;
        const expiry = p.properties?.sessionExpiryInterval ?? 0;
        const v4: Packet = {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId: p.clientId,
          clean: p.clean !== false || expiry === 0,
          keepalive: p.keepalive ?? 0,
        };
        if (p.username !== undefined) v4.username = p.username;
        if (p.password !== undefined) v4.password = p.password;
        if (p.will) {
          v4.will = {
            topic: p.will.topic,
            payload: p.will.payload,
            qos: p.will.qos ?? 0,
            retain: p.will.retain ?? false,
          };
        }
        this.toBroker(v4);
        return;
      }
      case 'publish': {
        if (p.properties?.topicAlias !== undefined) {
          this.fail(new Error('topic aliases are not granted'), REASON.topicAliasInvalid);
          return;
        }
        const v4: Packet = {
          cmd: 'publish',
          topic: p.topic,
          payload: p.payload,
          qos: p.qos,
          retain: p.retain,
          dup: p.dup,
        };
        if (p.messageId !== undefined) v4.messageId = p.messageId;
        this.toBroker(v4);
        return;
      }
      case 'subscribe':
        this.toBroker({
          cmd: 'subscribe',
          messageId: p.messageId,
          subscriptions: p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos === 2 ? 1 : s.qos })),
        });
        return;
      case 'unsubscribe':
        this.unsubscribeCounts.set(p.messageId ?? 0, p.unsubscriptions.length);
        this.toBroker({ cmd: 'unsubscribe', messageId: p.messageId, unsubscriptions: p.unsubscriptions });
        return;
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        this.toBroker({ cmd: p.cmd, messageId: p.messageId } as Packet);
        return;
      case 'pingreq':
        this.toBroker({ cmd: 'pingreq' });
        return;
      case 'disconnect':
        if (p.reasonCode === 0x04) {
          // "Disconnect with Will Message": close without a DISCONNECT so the broker publishes the will.
          this.destroy();
          return;
        }
        this.toBroker({ cmd: 'disconnect' });
        return;
      default:
        // AUTH (no enhanced authentication offered) or a packet a client must never send.
        this.fail(new Error(`unexpected ${p.cmd} packet`), REASON.protocolError);
    }
  }

  private brokerToDevice(p: Packet): void {
    switch (p.cmd) {
      case 'connack': {
        const reasonCode = CONNACK_V5[p.returnCode ?? 0] ?? REASON.unspecified;
        const v5: Packet = { cmd: 'connack', sessionPresent: p.sessionPresent, reasonCode };
        if (reasonCode === REASON.success) {
          v5.properties = {
            maximumQoS: 1,
            retainAvailable: true,
            maximumPacketSize: this.announcedMaxPacket,
            wildcardSubscriptionAvailable: true,
            subscriptionIdentifiersAvailable: false,
            sharedSubscriptionAvailable: false,
          };
        }
        this.sendToDevice(v5);
        return;
      }
      case 'suback':
        this.sendToDevice({
          cmd: 'suback',
          messageId: p.messageId,
          granted: (p.granted as number[]).map((g) => (g === 0x80 ? REASON.notAuthorized : g)),
        });
        return;
      case 'unsuback': {
        const n = this.unsubscribeCounts.get(p.messageId ?? 0) ?? 1;
        this.unsubscribeCounts.delete(p.messageId ?? 0);
        this.sendToDevice({ cmd: 'unsuback', messageId: p.messageId, granted: new Array<number>(n).fill(0) });
        return;
      }
      case 'puback':
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        this.sendToDevice({ cmd: p.cmd, messageId: p.messageId, reasonCode: 0 } as Packet);
        return;
      default:
        // PUBLISH and PINGRESP are the same in both versions apart from the (empty) properties.
        this.sendToDevice(p);
    }
  }

  private sendToDevice(p: Packet): void {
    const bytes = generate(p, { protocolVersion: 5 });
    // MQTT 5 §3.1.2.11.4: never send a device a packet larger than it accepts; drop it instead.
    if (this.deviceMaxPacket !== undefined && bytes.length > this.deviceMaxPacket) return;
    this.outbound.push(bytes);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.mode !== 'v5') {
      this.toDevice(chunk, cb);
      return;
    }
    try {
      this.fromBroker.parse(chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
    const out = this.outbound;
    this.outbound = [];
    if (out.length === 0) cb();
    else this.toDevice(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out), cb);
  }

  /**
   * Write to the TLS socket, coalescing everything written in the same tick: aedes writes a packet in
   * several small pieces, and each uncorked write would become its own TLS record and system call.
   */
  private toDevice(bytes: Buffer, cb: (err?: Error | null) => void): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (this.socket.write(bytes)) cb();
    else this.socket.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.endSoon();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.mode === 'v5' && this.disconnectReason !== undefined && !this.socket.destroyed) {
      try {
        this.socket.write(
          generate({ cmd: 'disconnect', reasonCode: this.disconnectReason }, { protocolVersion: 5 }),
        );
      } catch {
        // the socket is going away anyway
      }
    }
    this.endSoon();
    cb(err);
  }

  /** End the socket gracefully (flushing a CONNACK or DISCONNECT), destroying it if it lingers. */
  private endSoon(): void {
    if (this.socket.destroyed) return;
    if (this.outbound.length > 0) {
      this.socket.write(Buffer.concat(this.outbound));
      this.outbound = [];
    }
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), this.closeGraceMs);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }
}
