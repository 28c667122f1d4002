/**
 * X.509 building blocks of the local CA: a self-signed CA certificate, TLS server and device (client)
 * certificates signed by it, and PKCS#10 CSR reading. Keys and signatures come from node:crypto
 * (ECDSA P-256 with SHA-256 for everything the CA creates); the DER is built by ./der.ts. Device keys
 * supplied through a CSR must be what AWS IoT Core accepts: RSA ≥ 2048 bits or ECDSA P-256/P-384/P-521.
 */
import {
  createHash,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  boolean,
  children,
  DerError,
  type DerNode,
  expectTag,
  explicit,
  ia5,
  implicit,
  integer,
  integerFromBytes,
  namedBits,
  octetString,
  oid,
  parseDer,
  readBitStringBytes,
  readOid,
  seq,
  set,
  TAG,
  time,
  utf8String,
} from './der.js';

const OID = Object.freeze({
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
});

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
const KEY_USAGE = Object.freeze({ digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 });

/** CSR signature algorithms accepted, with the digest node:crypto needs and the key type they need. */
const CSR_SIGNATURES: Readonly<Record<string, { digest: string; keyType: 'ec' | 'rsa' }>> = Object.freeze({
  '1.2.840.10045.4.3.2': { digest: 'sha256', keyType: 'ec' },
  '1.2.840.10045.4.3.3': { digest: 'sha384', keyType: 'ec' },
  '1.2.840.10045.4.3.4': { digest: 'sha512', keyType: 'ec' },
  '1.2.840.113549.1.1.11': { digest: 'sha256', keyType: 'rsa' },
  '1.2.840.113549.1.1.12': { digest: 'sha384', keyType: 'rsa' },
  '1.2.840.113549.1.1.13': { digest: 'sha512', keyType: 'rsa' },
});

/** EC curves AWS IoT Core accepts for device certificates (node:crypto names). */
const ACCEPTED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/** Largest CSR accepted, PEM characters (an RSA-4096 CSR is about 1.7 KB). */
export const MAX_CSR_PEM_LENGTH = 16 * 1024;

/** Lowercase hex SHA-256 of a certificate's DER: the certificate id and fingerprint everywhere. */
export function fingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** PEM-armour DER bytes. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block with one of `labels`; throws {@link DerError} when absent or bad. */
export function fromPem(pem: string, labels: readonly string[]): Uint8Array {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/.exec(pem);
  if (!m || !labels.includes(m[1] ?? '')) throw new DerError(`Expected a PEM ${labels[0]}`);
  const body = (m[2] ?? '').replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new DerError('PEM body is not valid base64');
  }
  return Buffer.from(body, 'base64');
}

/** A distinguished name from RDN attributes, in order (each in its own SET, as X.509 names usually are). */
function distinguishedName(attrs: readonly [string, string][]): Uint8Array {
  return seq(...attrs.map(([type, value]) => set(seq(oid(type), utf8String(value)))));
}

/** SHA-1 of the subjectPublicKey bits of an SPKI (RFC 5280 §4.2.1.2 method 1). */
function keyIdentifier(spkiDer: Uint8Array): Uint8Array {
  const [, keyBits] = children(parseDer(spkiDer));
  return createHash('sha1').update(readBitStringBytes(keyBits)).digest();
}

function extension(id: string, critical: boolean, valueDer: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), boolean(true), octetString(valueDer)) : seq(oid(id), octetString(valueDer));
}

/** A random positive 128-bit serial number (RFC 5280 allows up to 20 octets), hex. */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01; // positive and never shortened by minimal INTEGER encoding
  return b.toString('hex');
}

/** What kind of certificate to build. */
export type CertificateProfile = 'ca' | 'server' | 'client';

/** Everything needed to build and sign one certificate. */
export interface CertificateSpec {
  profile: CertificateProfile;
  /** Subject attributes; the CN comes first. */
  subject: { commonName: string; organization?: string; organizationalUnit?: string };
  /** Subject public key, SPKI DER. */
  publicKeySpki: Uint8Array;
  /** Serial, hex (see {@link randomSerial}). */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** Issuer: subject DER and SPKI DER of the CA, and its private key. Absent for a self-signed CA. */
  issuer?: { subjectDer: Uint8Array; publicKeySpki: Uint8Array; privateKey: KeyObject };
  /** Self-signing key for a CA (required when `issuer` is absent). */
  selfSignKey?: KeyObject;
  /** Subject alternative names (server certificates). */
  altNames?: readonly string[];
}

/** Build and sign a certificate; returns DER and PEM. */
export function buildCertificate(spec: CertificateSpec): { der: Uint8Array; pem: string } {
  const attrs: [string, string][] = [[OID.commonName, spec.subject.commonName]];
  if (spec.subject.organization) attrs.push([OID.organizationName, spec.subject.organization]);
  if (spec.subject.organizationalUnit)
    attrs.push([OID.organizationalUnitName, spec.subject.organizationalUnit]);
  const subjectDer = distinguishedName(attrs);
  const signer = spec.issuer?.privateKey ?? spec.selfSignKey;
  if (!signer) throw new Error('buildCertificate needs an issuer or a self-signing key');
  const issuerDer = spec.issuer?.subjectDer ?? subjectDer;
  const issuerSpki = spec.issuer?.publicKeySpki ?? spec.publicKeySpki;

  const extensions: Uint8Array[] = [];
  if (spec.profile === 'ca') {
    extensions.push(extension(OID.basicConstraints, true, seq(boolean(true), integer(0))));
    extensions.push(
      extension(
        OID.keyUsage,
        true,
        namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
      ),
    );
  } else {
    extensions.push(extension(OID.basicConstraints, true, seq()));
    extensions.push(
      extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment])),
    );
    extensions.push(
      extension(
        OID.extKeyUsage,
        false,
        seq(oid(spec.profile === 'server' ? OID.serverAuth : OID.clientAuth)),
      ),
    );
  }
  if (spec.altNames && spec.altNames.length > 0) {
    const names = spec.altNames.map((n) => {
      const v = isIP(n);
      if (v === 4) return implicit(7, Uint8Array.from(n.split('.').map(Number)));
      if (v === 6) return implicit(7, ipv6Bytes(n));
      return implicit(2, ia5(n));
    });
    extensions.push(extension(OID.subjectAltName, false, seq(...names)));
  }
  extensions.push(extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spec.publicKeySpki))));
  extensions.push(extension(OID.authorityKeyIdentifier, false, seq(implicit(0, keyIdentifier(issuerSpki)))));

  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    explicit(0, integer(2)),
    integerFromBytes(Buffer.from(spec.serialHex, 'hex')),
    algorithm,
    issuerDer,
    seq(time(spec.notBefore), time(spec.notAfter)),
    subjectDer,
    spec.publicKeySpki,
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, signer);
  const der = seq(tbs, algorithm, bitString(signature));
  return { der, pem: toPem('CERTIFICATE', der) };
}

/** The 16 bytes of an IPv6 address already validated by `isIP` (handles `::` and embedded IPv4). */
function ipv6Bytes(addr: string): Uint8Array {
  let s = addr.replace(/%.*$/, '');
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [, prefix, a, b, c, d] = v4.map((x, i) => (i < 2 ? x : Number(x))) as [
      string,
      string,
      number,
      number,
      number,
      number,
    ];
    s = `${prefix}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups =
    halves.length > 1 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[i * 2] = (n >> 8) & 0xff;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

/** The subject Name DER and SPKI DER of a certificate (to issue under it). */
export function certificateParts(certDer: Uint8Array): { subjectDer: Uint8Array; publicKeySpki: Uint8Array } {
  const [tbs] = children(parseDer(certDer));
  const fields = children(expectTag(tbs, TAG.SEQUENCE, 'a TBSCertificate'));
  // With the explicit [0] version present: version, serial, algorithm, issuer, validity, subject, spki.
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[4 + offset];
  const spki = fields[5 + offset];
  return {
    subjectDer: expectTag(subject, TAG.SEQUENCE, 'a subject name').raw,
    publicKeySpki: expectTag(spki, TAG.SEQUENCE, 'a subject public key').raw,
  };
}

/** What a verified CSR contributes to a certificate. */
export interface ParsedCsr {
  /** The requester's public key, SPKI DER (copied into the certificate as is). */
  publicKeySpki: Uint8Array;
  /** The CN the CSR asked for, if any (the local CA always uses the device id instead). */
  commonName?: string;
}

/**
 * Read and verify a PEM PKCS#10 CSR: well-formed DER, a signature by its own key (proof of possession)
 * with an accepted algorithm, and an accepted key type and size. Throws {@link DerError} (`INVALID_CSR`).
 */
export function parseCsr(pem: string): ParsedCsr {
  if (pem.length > MAX_CSR_PEM_LENGTH) throw new DerError('CSR is too large');
  const der = fromPem(pem, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
  const [info, algorithm, signature, ...extra] = children(parseDer(der));
  if (extra.length > 0) throw new DerError('CSR has unexpected trailing fields');
  const infoNode = expectTag(info, TAG.SEQUENCE, 'CSR info');
  const [version, subject, spki] = children(infoNode);
  const v = expectTag(version, TAG.INTEGER, 'CSR version');
  if (v.content.length !== 1 || v.content[0] !== 0) throw new DerError('CSR version must be 1 (0)');
  const spkiNode = expectTag(spki, TAG.SEQUENCE, 'CSR public key');
  const sigAlg = readOid(children(expectTag(algorithm, TAG.SEQUENCE, 'CSR signature algorithm'))[0]);
  const accepted = CSR_SIGNATURES[sigAlg];
  if (!accepted) throw new DerError(`CSR signature algorithm ${sigAlg} is not supported`);

  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiNode.raw), format: 'der', type: 'spki' });
  } catch {
    throw new DerError('CSR public key cannot be read');
  }
  checkKey(key, accepted.keyType);
  const sig = readBitStringBytes(signature);
  let ok = false;
  try {
    ok = verify(accepted.digest, infoNode.raw, key, sig);
  } catch {
    ok = false;
  }
  if (!ok) throw new DerError('CSR signature does not verify');
  const commonName = readCommonName(expectTag(subject, TAG.SEQUENCE, 'CSR subject'));
  return commonName === undefined
    ? { publicKeySpki: spkiNode.raw }
    : { publicKeySpki: spkiNode.raw, commonName };
}

function checkKey(key: KeyObject, expected: 'ec' | 'rsa'): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType !== expected) throw new DerError('CSR key type does not match its signature');
  if (expected === 'rsa' && (details.modulusLength ?? 0) < 2048) {
    throw new DerError('CSR RSA keys must be at least 2048 bits');
  }
  if (expected === 'ec' && !ACCEPTED_CURVES.has(details.namedCurve ?? '')) {
    throw new DerError('CSR EC keys must use P-256, P-384 or P-521');
  }
}

function readCommonName(name: DerNode): string | undefined {
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (readOid(type) === OID.commonName && value) return Buffer.from(value.content).toString('utf8');
    }
  }
  return undefined;
}

/** Summary of a PEM certificate via node:crypto (used to check what was built and what peers present). */
export function describeCertificate(pem: string): {
  fingerprint: string;
  commonName: string | undefined;
  notAfter: Date;
  serialHex: string;
} {
  const cert = new X509Certificate(pem);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  return {
    fingerprint: fingerprintOf(cert.raw),
    commonName: cn,
    notAfter: new Date(cert.validTo),
    serialHex: cert.serialNumber.toLowerCase(),
  };
}
