/**
 * {@link IdentityProvider} of the local stack: device certificates issued by the local CA (CN = device id,
 * for a generated ECDSA P-256 key or the key of a verified CSR), recorded in the embedded database.
 * Revoking marks the certificate revoked there — the broker refuses it from then on — and asks the broker
 * to drop live connections that use it. The certificate id is the SHA-256 fingerprint of the DER, which
 * is also what AWS IoT Core uses as certificate id.
 */
import { THING_NAME_PATTERN } from '../../core/topics.js';
import type { LocalCa } from '../../local/pki/local-ca.js';
import type { IdentityProvider, IssuedIdentity } from '../../ports/identity-provider.js';
import { type Db, stmt } from './sqlite.js';

/** A certificate as the broker needs to see it. */
export interface CertificateEntry {
  fingerprint: string;
  deviceId: string;
  tenant: string | undefined;
  serialHex: string;
  status: 'active' | 'revoked';
  issuedAt: number;
  revokedAt: number | undefined;
  notAfter: number;
}

/** Options of {@link LocalIdentityProvider}. */
export interface LocalIdentityOptions {
  /** Where devices connect (known once the broker listens). */
  endpoint: () => { host: string; port: number };
  /** Called for every certificate revoked, to disconnect sessions using it. */
  onRevoke?: (deviceId: string, fingerprint: string) => void;
  /** Clock, epoch ms. @default Date.now */
  now?: () => number;
}

interface Row {
  fingerprint: string;
  device_id: string;
  tenant: string | null;
  serial: string;
  status: 'active' | 'revoked';
  issued_at: number;
  revoked_at: number | null;
  not_after: number;
}

/** Device identities from the local CA. */
export class LocalIdentityProvider implements IdentityProvider {
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly ca: LocalCa,
    private readonly opts: LocalIdentityOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Issue a certificate with CN = `deviceId`; `attributes.tenant` is recorded with it. */
  async issue(
    deviceId: string,
    opts: { csrPem?: string; attributes?: Record<string, string> } = {},
  ): Promise<IssuedIdentity> {
    if (!THING_NAME_PATTERN.test(deviceId)) throw new Error(`"${deviceId}" is not a valid thing name`);
    const cert = this.ca.issueDevice(deviceId, opts.csrPem);
    stmt(
      this.db,
      `INSERT INTO certificates (fingerprint, device_id, tenant, serial, status, issued_at, not_after, pem)
         VALUES (?, ?, ?, ?, 'active', ?, ?, ?)`,
    ).run(
      cert.fingerprint,
      deviceId,
      opts.attributes?.tenant ?? null,
      cert.serialHex,
      this.now(),
      cert.notAfter.getTime(),
      cert.pem,
    );
    const issued: IssuedIdentity = {
      certificateId: cert.fingerprint,
      fingerprint: cert.fingerprint,
      certificatePem: cert.pem,
      caPem: this.ca.caPem,
    };
    if (cert.privateKeyPem !== undefined) issued.privateKey = cert.privateKeyPem;
    return issued;
  }

  /** Revoke one certificate of a device (idempotent). */
  async revoke(deviceId: string, certificateId: string): Promise<void> {
    const res = stmt(
      this.db,
      `UPDATE certificates SET status = 'revoked', revoked_at = ?
         WHERE fingerprint = ? AND device_id = ? AND status = 'active'`,
    ).run(this.now(), certificateId, deviceId);
    if (res.changes > 0) this.opts.onRevoke?.(deviceId, certificateId);
  }

  /** Revoke every certificate still active for the device (there are no separate things locally). */
  async removeThing(deviceId: string): Promise<void> {
    const active = stmt(
      this.db,
      `SELECT fingerprint FROM certificates WHERE device_id = ? AND status = 'active'`,
    )
      .pluck()
      .all(deviceId) as string[];
    for (const fp of active) await this.revoke(deviceId, fp);
  }

  /** Where devices connect. */
  async endpoint(): Promise<{ host: string; port: number }> {
    return this.opts.endpoint();
  }

  /** A certificate by fingerprint (the broker's authentication lookup). */
  certificate(fingerprint: string): CertificateEntry | undefined {
    const r = stmt(this.db, 'SELECT * FROM certificates WHERE fingerprint = ?').get(fingerprint) as
      | Row
      | undefined;
    if (!r) return undefined;
    return {
      fingerprint: r.fingerprint,
      deviceId: r.device_id,
      tenant: r.tenant ?? undefined,
      serialHex: r.serial,
      status: r.status,
      issuedAt: r.issued_at,
      revokedAt: r.revoked_at ?? undefined,
      notAfter: r.not_after,
    };
  }
}
