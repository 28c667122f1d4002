/**
 * Device registry port: the record of every device (thing) and its tenant, credentials metadata,
 * assigned DBC and channel contract. Implemented on DynamoDB (AWS) and the embedded database (local).
 */

/** Lifecycle state of a device. */
export type DeviceStatus = 'active' | 'disabled' | 'deleted';

/** A registered device. The device id equals the IoT thing name and the MQTT client id. */
export interface DeviceRecord {
  tenant: string;
  /** Device id = thing name = MQTT client id; globally unique. */
  deviceId: string;
  /** Display name. */
  name?: string;
  /** Label/note tags. */
  tags: Record<string, string>;
  /** Hash of the payload token (see lambdas/core/token.ts); the token itself is never stored. */
  tokenHash: string;
  /** Certificate id (AWS IoT certificate id or local certificate fingerprint) currently active. */
  certificateId?: string;
  /** SHA-256 fingerprint (hex) of the active certificate; the local broker authenticates against it. */
  certificateFingerprint?: string;
  /** File id / object key of the DBC assigned to this device, if any. */
  dbcKey?: string;
  /** ExoSense `config_io` channel contract, when set. */
  channelContract?: unknown;
  /** ExoSense `config_applications` (protocol/interface settings), when set. */
  configApplications?: unknown;
  /** When the configuration (channel contract or applications) last changed, epoch ms. */
  configUpdatedAt?: number;
  /**
   * MQTT connection state from lifecycle events (IoT `$aws/events/presence/…`, or the local broker).
   * `undefined` when unknown: commands are then sent immediately rather than held.
   */
  connected?: boolean;
  /**
   * Event time (epoch ms) of the lifecycle event that last set `connected`; orders those events, so an
   * older one delivered late (IoT lifecycle events may arrive out of order) cannot overwrite a newer one.
   */
  connectedAt?: number;
  /** Firmware version reported by the device or assigned. */
  firmwareVersion?: string;
  status: DeviceStatus;
  /** Newest message receive time, epoch ms. */
  lastSeen?: number;
  /** Creation time, epoch ms. */
  createdAt: number;
}

/** A page of devices. */
export interface DevicePage {
  items: DeviceRecord[];
  next?: string;
}

/** The device registry port. */
export interface DeviceRegistry {
  /** Look a device up by its thing name (the authenticated identity); any tenant. */
  getByThing(deviceId: string): Promise<DeviceRecord | undefined>;
  /** Look a device up within a tenant; another tenant's device is `undefined`. */
  get(tenant: string, deviceId: string): Promise<DeviceRecord | undefined>;
  /** List a tenant's devices. */
  list(tenant: string, opts: { limit: number; cursor?: string }): Promise<DevicePage>;
  /** Create a device; fails if the id exists. */
  create(record: DeviceRecord): Promise<void>;
  /** Replace a device record (same tenant and id). */
  put(record: DeviceRecord): Promise<void>;
  /** Remove a device record within a tenant; returns false when it did not exist there. */
  delete(tenant: string, deviceId: string): Promise<boolean>;
  /** Record a receive time; only moves `lastSeen` forward. */
  touch(deviceId: string, seenAt: number): Promise<void>;
  /**
   * Record the connection state a lifecycle event reported at `at` (event time, epoch ms), writing only
   * `connected` and `connectedAt` (never the whole record, which would race with `touch` and API edits),
   * and only when no newer event was recorded; on equal times a disconnect wins. Returns whether it was
   * applied (false also when the device does not exist). Optional: registries fed by their own broker
   * (the local stack) record connection state there.
   */
  recordConnection?(tenant: string, deviceId: string, connected: boolean, at: number): Promise<boolean>;
}
