/**
 * The local MQTT broker: aedes behind node:tls with mutual TLS against the local CA, enforcing what the
 * AWS IoT policy enforces on AWS (lambdas/core/topics.ts `devicePolicyTopics`):
 *
 * - TLS: a client certificate signed by the local CA is required (`requestCert` + `rejectUnauthorized`);
 *   anything else fails the handshake;
 * - CONNECT: the certificate must be one the local CA issued, not revoked, attached to a registered,
 *   active device (the registry's certificate fingerprint), and its CN, the device id and the MQTT client
 *   id must all be equal — otherwise CONNACK "not authorized" (MQTT 5: 0x87);
 * - PUBLISH: only the device's own topics (telemetry, Basic Ingest, FlexConnect, command ack/res), QoS 0
 *   or 1, payload ≤ 128 KiB (IoT Core's limit); a violation closes the connection, as IoT Core does;
 * - SUBSCRIBE: only the device's own command request topic (others get a SUBACK failure); QoS 2 is
 *   granted as 1;
 * - delivery: nothing on `$aws/…` and nothing outside the device's receive topics ever reaches a device.
 *
 * Every authorized publish is handed to `onPublish` (the rule router) before it is acknowledged. When the
 * router is behind it takes the message later (`onPublish` returns a promise), and the acknowledgement —
 * and reading that connection's next packets — waits until it has: the devices are slowed down by TCP
 * back-pressure instead of the router's queue overflowing into dead letters.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { CertificateEntry } from '../../adapters/local/identity-provider.js';
import {
  type DevicePolicyTopics,
  devicePolicyTopics,
  THING_NAME_VARIABLE,
  type TopicConfig,
} from '../../core/topics.js';
import type { DeviceRegistry } from '../../ports/device-registry.js';
import type { EventSink, SystemEvent } from '../../ports/event-sink.js';
import type { LocalLogger } from '../log.js';
import { MqttBridge, type PeerIdentity, REASON } from './bridge.js';

/** IoT Core's largest message payload. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;
/** Room for the fixed/variable header, topic and MQTT 5 properties on top of the payload. */
const HEADER_ALLOWANCE = 4 * 1024;

/** A message a device published and the broker authorized. */
export interface PublishedMessage {
  topic: string;
  payload: Buffer;
  /** MQTT client id (= thing name). */
  clientId: string;
  /** Certificate fingerprint (what `principal()` returns on AWS). */
  principal: string;
  /** Receive time, epoch ms. */
  receivedAt: number;
  qos: 0 | 1;
}

/** Stable codes of the broker's refusals (system events `device.connect_refused` / `device.publish_denied`). */
export const BROKER_CODES = Object.freeze({
  NO_CLIENT_CERTIFICATE: 'No verified client certificate on the connection',
  CERTIFICATE_UNKNOWN: 'The certificate was not issued by this stack or is not attached to a device',
  CERTIFICATE_REVOKED: 'The certificate is revoked',
  CERTIFICATE_EXPIRED: 'The certificate has expired',
  CLIENT_ID_MISMATCH: 'The MQTT client id is not the thing name of the certificate',
  DEVICE_UNKNOWN: 'No registered device has this id',
  DEVICE_NOT_ACTIVE: 'The device is disabled or deleted',
  PUBLISH_NOT_ALLOWED: 'The device may not publish on this topic',
  QOS_NOT_SUPPORTED: 'QoS 2 is not supported (as on AWS IoT Core)',
  PAYLOAD_TOO_LARGE: 'The payload exceeds 128 KiB',
  SUBSCRIBE_NOT_ALLOWED: 'The device may not subscribe to this topic filter',
});
/** A broker refusal code. */
export type BrokerCode = keyof typeof BROKER_CODES;

/** What the broker needs. */
export interface LocalBrokerDeps {
  /** Certificate lookup by fingerprint (the local identity provider). */
  certificates: { certificate(fingerprint: string): CertificateEntry | undefined };
  registry: DeviceRegistry & { setConnected?(deviceId: string, connected: boolean): void };
  events: EventSink;
  /**
   * Receives every authorized publish (the rule router); must not block. A returned promise holds the
   * PUBACK and further reads from that connection until it settles (flow control).
   */
  onPublish: (msg: PublishedMessage) => Promise<void> | undefined | void;
  /**
   * A connected device subscribed to a topic it may receive commands on, once per connection: held
   * commands are sent then. Sending at connect time instead loses them, because a device subscribes only
   * after its CONNACK and the broker drops messages nobody is subscribed to. Must not block.
   */
  onCommandsSubscribed?: (tenant: string, deviceId: string) => void;
  log: LocalLogger;
  topicConfig?: Partial<TopicConfig>;
  /** Clock, epoch ms. @default Date.now */
  now?: () => number;
}

/** Where and how the broker listens. */
export interface LocalBrokerOptions {
  /** Bind address. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** TLS server credentials (from the local CA). */
  tls: { certPem: string; keyPem: string; caPem: string };
  /** Largest payload accepted. @default MAX_PAYLOAD_BYTES */
  maxPayloadBytes?: number;
}

/** Broker counters. */
export interface BrokerCounters {
  /** TLS handshakes refused (no, invalid or foreign client certificate). */
  tlsRefused: number;
  /** Connections authenticated. */
  connected: number;
  /** CONNECTs refused after TLS. */
  connectRefused: number;
  /** Publishes authorized and handed on. */
  published: number;
  /** Publishes refused (connection closed). */
  publishDenied: number;
  /** Subscriptions refused. */
  subscribeDenied: number;
  /** Publishes whose acknowledgement was held back because the router was behind. */
  throttled: number;
}

interface Session {
  deviceId: string;
  tenant: string;
  fingerprint: string;
  publish: Set<string>;
  subscribe: Set<string>;
  receive: Set<string>;
  /** Set once the held commands of this connection were requested (first command-topic subscription). */
  commandsRequested?: boolean;
}

/** A running broker. */
export interface LocalBroker {
  /** Port actually listened on. */
  readonly port: number;
  readonly aedes: Aedes;
  readonly counters: Readonly<BrokerCounters>;
  /** Publish from the cloud side (commands), bypassing device authorization. */
  publish(topic: string, payload: Uint8Array | string, qos?: 0 | 1): Promise<void>;
  /** Close the connections of a device (all, or those using one certificate). Returns how many. */
  disconnect(deviceId: string, fingerprint?: string): number;
  /** Device ids currently connected. */
  connectedDevices(): string[];
  /** Stop accepting, close every connection and the broker. */
  close(): Promise<void>;
}

function policyFor(policy: DevicePolicyTopics, deviceId: string) {
  const sub = (list: readonly string[]) =>
    new Set(list.map((t) => t.replaceAll(THING_NAME_VARIABLE, deviceId)));
  return {
    publish: sub([...policy.publishTelemetry, ...policy.publishBasicIngest, ...policy.publishCommand]),
    subscribe: sub(policy.subscribe),
    receive: sub(policy.receive),
  };
}

function refusal(code: BrokerCode): AuthenticateError {
  return Object.assign(new Error(BROKER_CODES[code]), { returnCode: 5 as const, code });
}

/** Start the broker. */
export async function startBroker(deps: LocalBrokerDeps, opts: LocalBrokerOptions): Promise<LocalBroker> {
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const policy = devicePolicyTopics(deps.topicConfig);
  const maxPayload = opts.maxPayloadBytes ?? MAX_PAYLOAD_BYTES;
  const sessions = new WeakMap<Client, Session>();
  const counters: BrokerCounters = {
    tlsRefused: 0,
    connected: 0,
    connectRefused: 0,
    published: 0,
    publishDenied: 0,
    subscribeDenied: 0,
    throttled: 0,
  };

  const emit = (e: Omit<SystemEvent, 'time'>) => {
    deps.events
      .publish([{ ...e, time: now() }])
      .catch((err: unknown) => log.warn('broker', `event not stored: ${String(err)}`));
  };

  const bridgeOf = (client: Client): MqttBridge | undefined =>
    client.conn instanceof MqttBridge ? client.conn : undefined;

  async function authenticate(client: Client): Promise<Session> {
    const peer = bridgeOf(client)?.peer;
    if (!peer) throw refusal('NO_CLIENT_CERTIFICATE');
    const cert = deps.certificates.certificate(peer.fingerprint);
    if (!cert) throw refusal('CERTIFICATE_UNKNOWN');
    if (cert.status === 'revoked') throw refusal('CERTIFICATE_REVOKED');
    if (cert.notAfter <= now()) throw refusal('CERTIFICATE_EXPIRED');
    if (client.id !== cert.deviceId || peer.commonName !== cert.deviceId) throw refusal('CLIENT_ID_MISMATCH');
    const device = await deps.registry.getByThing(cert.deviceId);
    if (!device) throw refusal('DEVICE_UNKNOWN');
    if (device.status !== 'active') throw refusal('DEVICE_NOT_ACTIVE');
    // The registry names the device's active certificate; a certificate the CA issued but the registry
    // does not reference (rotated away, or provisioning that never completed) is unknown.
    if (device.certificateFingerprint !== undefined && device.certificateFingerprint !== peer.fingerprint) {
      throw refusal('CERTIFICATE_UNKNOWN');
    }
    return {
      deviceId: device.deviceId,
      tenant: device.tenant,
      fingerprint: peer.fingerprint,
      ...policyFor(policy, device.deviceId),
    };
  }

  const aedes = new Aedes({
    // Thing names are up to 128 characters (the 23-character default only applies to MQTT 3.1).
    maxClientsIdLength: 128,
    authenticate(client, _username, _password, done) {
      authenticate(client).then(
        (session) => {
          sessions.set(client, session);
          done(null, true);
        },
        (err: AuthenticateError & { code?: BrokerCode }) => {
          counters.connectRefused++;
          const cert = bridgeOf(client)?.peer;
          const known = cert ? deps.certificates.certificate(cert.fingerprint) : undefined;
          const code = err.code ?? 'CERTIFICATE_UNKNOWN';
          log.warn('mqtt', `refused connection of client "${client.id}": ${code}`);
          emit({
            type: 'device.connect_refused',
            code,
            ...(known?.tenant ? { tenant: known.tenant, device: known.deviceId } : {}),
            detail: { clientId: client.id.slice(0, 128), ...(cert ? { fingerprint: cert.fingerprint } : {}) },
          });
          if (!err.code) log.warn('mqtt', `authentication error: ${err.message}`);
          done(err.code ? err : refusal('CERTIFICATE_UNKNOWN'), null);
        },
      );
    },
    authorizePublish(client, packet, done) {
      if (!client) return done(null); // the broker's own publishes (commands)
      const session = sessions.get(client);
      let code: BrokerCode | undefined;
      if (!session?.publish.has(packet.topic)) code = 'PUBLISH_NOT_ALLOWED';
      else if (packet.qos === 2) code = 'QOS_NOT_SUPPORTED';
      else if (packet.payload.length > maxPayload) code = 'PAYLOAD_TOO_LARGE';
      if (code !== undefined || !session) {
        counters.publishDenied++;
        const bridge = bridgeOf(client);
        if (bridge) {
          bridge.disconnectReason =
            code === 'QOS_NOT_SUPPORTED'
              ? REASON.qosNotSupported
              : code === 'PAYLOAD_TOO_LARGE'
                ? REASON.packetTooLarge
                : REASON.notAuthorized;
        }
        log.warn('mqtt', `closed "${client.id}": ${code} on "${packet.topic.slice(0, 300)}"`);
        emit({
          type: 'device.publish_denied',
          code: code ?? 'PUBLISH_NOT_ALLOWED',
          ...(session ? { tenant: session.tenant, device: session.deviceId } : {}),
          detail: { topic: packet.topic.slice(0, 300), qos: packet.qos, bytes: packet.payload.length },
        });
        return done(new Error(BROKER_CODES[code ?? 'PUBLISH_NOT_ALLOWED']));
      }
      counters.published++;
      let wait: Promise<void> | undefined | void;
      try {
        wait = deps.onPublish({
          topic: packet.topic,
          payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          clientId: client.id,
          principal: session.fingerprint,
          receivedAt: now(),
          qos: packet.qos === 1 ? 1 : 0,
        });
      } catch (err) {
        log.warn('mqtt', `router refused a message: ${String(err)}`);
      }
      if (!wait) return done(null);
      counters.throttled++;
      wait.then(
        () => done(null),
        () => done(null),
      );
    },
    authorizeSubscribe(client, sub, done) {
      const session = sessions.get(client);
      if (!session?.subscribe.has(sub.topic)) {
        counters.subscribeDenied++;
        log.warn('mqtt', `refused subscription of "${client.id}" to "${sub.topic.slice(0, 300)}"`);
        emit({
          type: 'device.subscribe_denied',
          code: 'SUBSCRIBE_NOT_ALLOWED',
          ...(session ? { tenant: session.tenant, device: session.deviceId } : {}),
          detail: { filter: sub.topic.slice(0, 300) },
        });
        return done(null, null); // SUBACK failure, connection kept (MQTT 3.1.1 §3.9.3)
      }
      done(null, { ...sub, qos: sub.qos === 2 ? 1 : sub.qos });
    },
    authorizeForward(client, packet) {
      const session = sessions.get(client);
      if (packet.topic.startsWith('$') || !session?.receive.has(packet.topic)) return null;
      return packet;
    },
  });
  await aedes.listen();

  aedes.on('clientReady', (client) => {
    const s = sessions.get(client);
    // A client can be closed before its CONNECT finished (e.g. it published on a forbidden topic right
    // behind its CONNECT): it must not be recorded as connected.
    if (!s || client.closed) return;
    counters.connected++;
    const version = bridgeOf(client)?.protocolLevel === 5 ? '5' : '3.1.1';
    log.info('mqtt', `${s.deviceId} connected (MQTT ${version}, tenant ${s.tenant})`);
    deps.registry.setConnected?.(s.deviceId, true);
    emit({
      type: 'device.connected',
      code: 'CONNECTED',
      tenant: s.tenant,
      device: s.deviceId,
      detail: { mqtt: version },
    });
  });
  aedes.on('subscribe', (subscriptions, client) => {
    const s = client ? sessions.get(client) : undefined;
    if (!s || s.commandsRequested || client.closed) return;
    if (!subscriptions.some((sub) => s.receive.has(sub.topic))) return;
    s.commandsRequested = true;
    deps.onCommandsSubscribed?.(s.tenant, s.deviceId);
  });
  aedes.on('clientDisconnect', (client) => {
    const s = sessions.get(client);
    if (!s) return;
    // A takeover by a new connection with the same client id: the device is still connected.
    const current = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[client.id];
    if (current && current !== client) return;
    log.info('mqtt', `${s.deviceId} disconnected`);
    deps.registry.setConnected?.(s.deviceId, false);
    emit({
      type: 'device.disconnected',
      code: 'DISCONNECTED',
      tenant: s.tenant,
      device: s.deviceId,
      detail: {},
    });
  });
  aedes.on('clientError', (client, err) => log.debug('mqtt', `client "${client.id}" error: ${err.message}`));
  aedes.on('connectionError', (_client, err) => log.debug('mqtt', `connection error: ${err.message}`));

  const server: Server = createServer(
    {
      cert: opts.tls.certPem,
      key: opts.tls.keyPem,
      ca: [opts.tls.caPem],
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: 10_000,
    },
    (socket: TLSSocket) => {
      const peerCert = socket.getPeerCertificate(false);
      const cn = peerCert?.subject?.CN;
      const peer: PeerIdentity = {
        fingerprint: createHash('sha256').update(peerCert.raw).digest('hex'),
        commonName: typeof cn === 'string' ? cn : undefined,
      };
      const bridge = new MqttBridge(socket, peer, { maxPacketBytes: maxPayload + HEADER_ALLOWANCE });
      bridge.on('error', (e) => log.debug('mqtt', `connection error: ${e.message}`));
      aedes.handle(bridge);
    },
  );
  server.on('tlsClientError', (err) => {
    counters.tlsRefused++;
    log.warn('mqtt', `refused TLS connection: ${err.message}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const clients = () => Object.values((aedes as unknown as { clients: Record<string, Client> }).clients);

  return {
    port,
    aedes,
    counters,
    publish(topic, payload, qos = 1) {
      const packet: PublishPacket = {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload),
        qos,
        retain: false,
        dup: false,
      };
      return new Promise((resolve, reject) =>
        aedes.publish(packet, (err) => (err ? reject(err) : resolve())),
      );
    },
    disconnect(deviceId, fingerprint) {
      let n = 0;
      for (const client of clients()) {
        const s = sessions.get(client);
        if (s && s.deviceId === deviceId && (fingerprint === undefined || s.fingerprint === fingerprint)) {
          client.close();
          n++;
        }
      }
      return n;
    },
    connectedDevices() {
      return clients()
        .map((c) => sessions.get(c)?.deviceId)
        .filter((d): d is string => d !== undefined);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const client of clients()) client.close();
      });
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
