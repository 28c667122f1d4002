/**
 * Device provisioning over the ports: thing + certificate + policies (IdentityProvider), a payload token
 * (shown once, stored only as a hash) and the registry entry. Used by `fleetwire register-device`; the
 * same sequence the HTTPS API runs.
 *
 * Order matters for "nothing dangles": the identity is issued first (it can fail on a bad CSR), the
 * registry entry last; if the registry refuses (the id was taken meanwhile, or it failed), the identity
 * is revoked and the thing removed again.
 */
import { generateToken, hashToken } from '../core/token.js';
import { THING_NAME_PATTERN } from '../core/topics.js';
import type { DeviceRecord, DeviceRegistry } from '../ports/device-registry.js';
import type { IdentityProvider, IssuedIdentity } from '../ports/identity-provider.js';

/** Tenant ids: letters, digits, `_`, `.`, `-`; 1–64 characters; never starting with `#` (reserved). */
export const TENANT_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** Imported tokens (e.g. from FlexConnect) must still be long and printable. */
const IMPORTED_TOKEN_PATTERN = /^[\x21-\x7e]{16,512}$/;

/** What to provision. */
export interface ProvisionRequest {
  readonly tenant: string;
  /** Device id = thing name = MQTT client id. */
  readonly deviceId: string;
  /** Display name. */
  readonly name?: string;
  /** Label tags. */
  readonly tags?: Readonly<Record<string, string>>;
  /** PEM CSR: the device keeps its private key. Without it the provider generates the key pair. */
  readonly csrPem?: string;
  /** An existing token to keep (migrating FlexConnect devices); a new random token otherwise. */
  readonly token?: string;
  /** Object key of the DBC assigned to the device. */
  readonly dbcKey?: string;
}

/** The result: the registry record and the secrets to hand to the device (shown once). */
export interface ProvisionedDevice {
  readonly record: DeviceRecord;
  readonly identity: IssuedIdentity;
  /** The payload token in clear; only its hash is stored. */
  readonly token: string;
}

/** A provisioning request was refused. */
export class ProvisioningError extends Error {
  /** Stable code. */
  readonly code: 'INVALID_TENANT' | 'INVALID_DEVICE_ID' | 'INVALID_TOKEN' | 'DEVICE_ID_TAKEN';
  constructor(code: ProvisioningError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProvisioningError';
    this.code = code;
  }
}

/** Dependencies of {@link provisionDevice}. */
export interface ProvisioningDeps {
  readonly registry: DeviceRegistry;
  readonly identity: IdentityProvider;
  /** Clock, epoch ms. */
  readonly now: () => number;
}

/** Provision one device. Throws {@link ProvisioningError} for refused requests. */
export async function provisionDevice(
  deps: ProvisioningDeps,
  req: ProvisionRequest,
): Promise<ProvisionedDevice> {
  if (!TENANT_ID_PATTERN.test(req.tenant)) {
    throw new ProvisioningError('INVALID_TENANT', `tenant "${req.tenant}" must match ${TENANT_ID_PATTERN}`);
  }
  if (!THING_NAME_PATTERN.test(req.deviceId)) {
    throw new ProvisioningError('INVALID_DEVICE_ID', 'device ids are 1–128 of [a-zA-Z0-9:_-]');
  }
  if (req.token !== undefined && !IMPORTED_TOKEN_PATTERN.test(req.token)) {
    throw new ProvisioningError(
      'INVALID_TOKEN',
      'an imported token must be 16–512 printable ASCII characters',
    );
  }
  if (await deps.registry.getByThing(req.deviceId)) {
    throw new ProvisioningError('DEVICE_ID_TAKEN', `device "${req.deviceId}" is already registered`);
  }

  const identity = await deps.identity.issue(req.deviceId, {
    ...(req.csrPem !== undefined ? { csrPem: req.csrPem } : {}),
    attributes: { tenant: req.tenant },
  });
  const token = req.token ?? generateToken();
  const record: DeviceRecord = {
    tenant: req.tenant,
    deviceId: req.deviceId,
    ...(req.name !== undefined ? { name: req.name } : {}),
    tags: { ...(req.tags ?? {}) },
    tokenHash: hashToken(token),
    certificateId: identity.certificateId,
    certificateFingerprint: identity.fingerprint,
    ...(req.dbcKey !== undefined ? { dbcKey: req.dbcKey } : {}),
    status: 'active',
    createdAt: deps.now(),
  };
  try {
    await deps.registry.create(record);
  } catch (e) {
    await deps.identity.revoke(req.deviceId, identity.certificateId).catch(() => undefined);
    await deps.identity.removeThing(req.deviceId).catch(() => undefined);
    if ((e as { code?: string }).code === 'DEVICE_EXISTS') {
      throw new ProvisioningError('DEVICE_ID_TAKEN', `device "${req.deviceId}" is already registered`, {
        cause: e,
      });
    }
    throw e;
  }
  return { record, identity, token };
}
