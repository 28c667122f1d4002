/**
 * Device identity port: issues and revokes X.509 device certificates. AWS IoT Core
 * (CreateKeysAndCertificate / CreateCertificateFromCsr, thing + policy attachment) on AWS; the local CA
 * of the local stack locally.
 */

/** What provisioning returns. The private key exists only when the provider generated the key pair. */
export interface IssuedIdentity {
  /** Provider certificate id (AWS IoT certificate id, or the local serial/fingerprint). */
  certificateId: string;
  /** SHA-256 fingerprint of the certificate DER, lowercase hex. */
  fingerprint: string;
  certificatePem: string;
  /** PEM private key; absent when a CSR was supplied. Shown once, never stored. */
  privateKey?: string;
  /** CA certificate the device should trust for the broker (PEM), when the provider has one to offer. */
  caPem?: string;
}

/** The identity provider port. */
export interface IdentityProvider {
  /**
   * Create the thing (if the provider has things) and issue a certificate bound to it. With
   * `existingThing` (credential rotation) the thing must already exist: only a new certificate is issued
   * and attached, and a failure never removes the thing.
   */
  issue(
    deviceId: string,
    opts?: { csrPem?: string; attributes?: Record<string, string>; existingThing?: boolean },
  ): Promise<IssuedIdentity>;
  /** Revoke/deactivate a certificate and detach it from the thing. */
  revoke(deviceId: string, certificateId: string): Promise<void>;
  /** Remove the thing itself (after revoking its certificates). */
  removeThing(deviceId: string): Promise<void>;
  /** MQTT endpoint devices connect to. */
  endpoint(): Promise<{ host: string; port: number }>;
}
