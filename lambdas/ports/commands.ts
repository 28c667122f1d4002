/**
 * Command ports: tracked downstream commands (EMS SET_MODE, ExoSense data_out, Avimesa actuation,
 * firmware updates) and the publisher that delivers them to devices over MQTT.
 * Status moves QUEUED → SENT → ACKNOWLEDGED → SUCCEEDED | FAILED | REJECTED, or TIMED_OUT.
 */

/** Command lifecycle states. */
export const COMMAND_STATUSES = [
  'QUEUED',
  'SENT',
  'ACKNOWLEDGED',
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'TIMED_OUT',
] as const;
/** A command status. */
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** A tracked command. */
export interface CommandRecord {
  tenant: string;
  deviceId: string;
  commandId: string;
  /** Action name, e.g. `SET_MODE`, `RESET_ERROR`, `data_out`, `gpio`, `firmware_update`. */
  action: string;
  payload: Record<string, unknown>;
  status: CommandStatus;
  createdAt: number;
  updatedAt: number;
  /** Deadline after which a command not yet finished becomes TIMED_OUT, epoch ms. */
  expiresAt: number;
  /** Device-supplied result or error detail. */
  result?: Record<string, unknown>;
  /** Status history. */
  history: { status: CommandStatus; at: number }[];
}

/** Command persistence. */
export interface CommandStore {
  create(cmd: CommandRecord): Promise<void>;
  get(tenant: string, commandId: string): Promise<CommandRecord | undefined>;
  /** A tenant's commands, newest first; optionally of one device and/or in one status. */
  list(
    tenant: string,
    opts: { deviceId?: string; status?: CommandStatus; limit: number; cursor?: string },
  ): Promise<{ items: CommandRecord[]; next?: string }>;
  /**
   * Open commands (QUEUED, SENT, ACKNOWLEDGED) of any tenant whose `expiresAt` is before `before`, oldest
   * deadline first, for the timeout sweep. Optional: without it commands time out when read or when their
   * device connects.
   */
  listExpired?(before: number, limit: number): Promise<CommandRecord[]>;
  /**
   * Move a command to `status` only if its current status is one of `from` (conditional write), so
   * duplicate or late acknowledgements never move it backwards. Returns the updated record or undefined.
   */
  transition(
    tenant: string,
    commandId: string,
    from: readonly CommandStatus[],
    status: CommandStatus,
    at: number,
    result?: Record<string, unknown>,
  ): Promise<CommandRecord | undefined>;
}

/** Delivers messages to devices (IoT data plane Publish on AWS, the local broker locally). */
export interface DevicePublisher {
  publish(topic: string, payload: Uint8Array | string, qos?: 0 | 1): Promise<void>;
}
