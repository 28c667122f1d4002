/**
 * The local stack's certificate authority: created on first run under `<state>/ca/` (key readable by the
 * owner only) and reused afterwards, so device certificates issued once keep working across restarts.
 * It signs the broker's TLS server certificate (regenerated at every start for the configured host
 * names, so it never goes stale) and device client certificates (CN = device id).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildCertificate,
  certificateParts,
  fingerprintOf,
  fromPem,
  parseCsr,
  randomSerial,
} from './certificates.js';

/** Validity of the CA certificate. */
const CA_VALIDITY_DAYS = 3650;
/** Validity of device certificates (AWS IoT's own certificates run to 2049; ten years is plenty locally). */
const DEVICE_VALIDITY_DAYS = 3650;
/** Validity of the broker's server certificate (regenerated at every start). */
const SERVER_VALIDITY_DAYS = 365;
/** Backdating of notBefore, for devices whose clock runs a little behind. */
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate the CA issued. */
export interface IssuedCertificate {
  pem: string;
  der: Uint8Array;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  serialHex: string;
  notAfter: Date;
  /** PKCS#8 PEM private key, when the CA generated the key pair. */
  privateKeyPem?: string;
}

/** Options of {@link LocalCa.open}. */
export interface LocalCaOptions {
  /** Clock, epoch ms. @default Date.now */
  now?: () => number;
}

/** The local certificate authority. */
export class LocalCa {
  /** CA certificate, PEM: what devices and clients trust. */
  readonly caPem: string;
  /** Path of the CA certificate file. */
  readonly caPath: string;
  private readonly key: KeyObject;
  private readonly subjectDer: Uint8Array;
  private readonly spki: Uint8Array;
  private readonly now: () => number;

  private constructor(caPem: string, caPath: string, key: KeyObject, now: () => number) {
    this.caPem = caPem;
    this.caPath = caPath;
    this.key = key;
    this.now = now;
    const parts = certificateParts(fromPem(caPem, ['CERTIFICATE']));
    this.subjectDer = parts.subjectDer;
    this.spki = parts.publicKeySpki;
  }

  /**
   * Load the CA from `dir`, creating it on first use. The key file is written with mode 0600 and the
   * directory with 0700; an existing CA is never overwritten.
   */
  static open(dir: string, opts: LocalCaOptions = {}): LocalCa {
    const now = opts.now ?? Date.now;
    const keyPath = join(dir, 'ca.key.pem');
    const certPath = join(dir, 'ca.pem');
    if (!existsSync(keyPath) || !existsSync(certPath)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const t = now();
      const cert = buildCertificate({
        profile: 'ca',
        subject: { commonName: 'Fleetwire Local CA', organization: 'Fleetwire local stack' },
        publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
        serialHex: randomSerial(),
        notBefore: new Date(t - BACKDATE_MS),
        notAfter: new Date(t + CA_VALIDITY_DAYS * DAY_MS),
        selfSignKey: privateKey,
      });
      // `wx`: if another process created the CA meanwhile, keep theirs (the reads below pick it up).
      writeIfAbsent(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
      writeIfAbsent(certPath, cert.pem, 0o644);
    }
    const key = createPrivateKey(readFileSync(keyPath, 'utf8'));
    return new LocalCa(readFileSync(certPath, 'utf8'), certPath, key, now);
  }

  /** A fresh TLS server certificate and key for the given host names and IP addresses. */
  serverCredentials(hosts: readonly string[]): { certPem: string; keyPem: string } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const altNames = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];
    const t = this.now();
    const cert = buildCertificate({
      profile: 'server',
      subject: { commonName: altNames[0] ?? 'localhost', organization: 'Fleetwire local stack' },
      publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
      serialHex: randomSerial(),
      notBefore: new Date(t - BACKDATE_MS),
      notAfter: new Date(t + SERVER_VALIDITY_DAYS * DAY_MS),
      issuer: { subjectDer: this.subjectDer, publicKeySpki: this.spki, privateKey: this.key },
      altNames,
    });
    return { certPem: cert.pem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  }

  /**
   * Issue a device client certificate with CN = `deviceId`: for the public key of `csrPem` (verified,
   * see {@link parseCsr}) or for a new ECDSA P-256 key pair whose private key is returned once.
   */
  issueDevice(deviceId: string, csrPem?: string): IssuedCertificate {
    let spki: Uint8Array;
    let privateKeyPem: string | undefined;
    if (csrPem !== undefined) {
      spki = parseCsr(csrPem).publicKeySpki;
    } else {
      const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      spki = pair.publicKey.export({ type: 'spki', format: 'der' });
      privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    }
    const t = this.now();
    const serialHex = randomSerial();
    const notAfter = new Date(t + DEVICE_VALIDITY_DAYS * DAY_MS);
    const cert = buildCertificate({
      profile: 'client',
      subject: { commonName: deviceId, organizationalUnit: 'Fleetwire device' },
      publicKeySpki: spki,
      serialHex,
      notBefore: new Date(t - BACKDATE_MS),
      notAfter,
      issuer: { subjectDer: this.subjectDer, publicKeySpki: this.spki, privateKey: this.key },
    });
    const issued: IssuedCertificate = {
      pem: cert.pem,
      der: cert.der,
      fingerprint: fingerprintOf(cert.der),
      serialHex,
      notAfter,
    };
    if (privateKeyPem !== undefined) issued.privateKeyPem = privateKeyPem;
    return issued;
  }

  /** The CA public key (to check that a certificate was signed by this CA). */
  publicKey(): KeyObject {
    return createPublicKey(this.key);
  }
}

function writeIfAbsent(path: string, content: string, mode: number): void {
  try {
    writeFileSync(path, content, { flag: 'wx', mode });
    chmodSync(path, mode); // the umask may have narrowed or widened the mode given to open()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}
