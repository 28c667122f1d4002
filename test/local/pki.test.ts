import { createPrivateKey, generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isFleetwireError } from '../../lambdas/core/errors.js';
import { fingerprintOf, parseCsr, toPem } from '../../lambdas/local/pki/certificates.js';
import {
  bitString,
  children,
  DerError,
  integer,
  integerFromBytes,
  namedBits,
  nullValue,
  oid,
  parseDer,
  readOid,
  seq,
  set,
  tlv,
  utf8String,
} from '../../lambdas/local/pki/der.js';
import { LocalCa } from '../../lambdas/local/pki/local-ca.js';

const dir = mkdtempSync(join(tmpdir(), 'fw-ca-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ca = LocalCa.open(join(dir, 'ca'));
const caCert = new X509Certificate(ca.caPem);

/** Build a PKCS#10 CSR by hand (the test's own encoder), signed by `key` or a different key. */
function csr(
  publicKey: KeyObject,
  privateKey: KeyObject,
  opts: { sigOid?: string; digest?: string; cn?: string; tamper?: boolean } = {},
): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const info = seq(
    integer(0),
    seq(set(seq(oid('2.5.4.3'), utf8String(opts.cn ?? 'requested')))),
    spki,
    tlv(0xa0),
  );
  const signature = sign(opts.digest ?? 'sha256', info, privateKey);
  if (opts.tamper) signature.writeUInt8((signature.at(-1) ?? 0) ^ 1, signature.length - 1);
  const alg =
    opts.sigOid === '1.2.840.113549.1.1.11'
      ? seq(oid(opts.sigOid), nullValue())
      : seq(oid(opts.sigOid ?? '1.2.840.10045.4.3.2'));
  return toPem('CERTIFICATE REQUEST', seq(info, alg, bitString(signature)));
}

describe('DER', () => {
  it('encodes integers minimally and object identifiers correctly', () => {
    expect(Buffer.from(integer(0))).toEqual(Buffer.from([2, 1, 0]));
    expect(Buffer.from(integer(127))).toEqual(Buffer.from([2, 1, 0x7f]));
    expect(Buffer.from(integer(128))).toEqual(Buffer.from([2, 2, 0, 0x80]));
    expect(Buffer.from(integerFromBytes(Uint8Array.of(0, 0, 5)))).toEqual(Buffer.from([2, 1, 5]));
    expect(Buffer.from(oid('1.2.840.10045.4.3.2'))).toEqual(Buffer.from('06082a8648ce3d040302', 'hex'));
    // KeyUsage digitalSignature|keyCertSign|cRLSign = bits 0,5,6 → 0x86 with one unused bit.
    expect(Buffer.from(namedBits([0, 5, 6]))).toEqual(Buffer.from([3, 2, 1, 0x86]));
  });

  it('round-trips object identifiers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 39 }),
        fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 6 }),
        (a, b, rest) => {
          const dotted = [a, b, ...rest].join('.');
          expect(readOid(parseDer(oid(dotted)))).toBe(dotted);
        },
      ),
    );
  });

  it('long lengths round-trip', () => {
    const big = new Uint8Array(70_000).fill(1);
    const node = parseDer(tlv(0x04, big));
    expect(node.content.length).toBe(70_000);
  });

  it('only ever throws typed errors on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const node = parseDer(bytes);
          if (node.tag & 0x20) children(node);
        } catch (e) {
          expect(e).toBeInstanceOf(DerError);
          expect(isFleetwireError(e) && e.code).toBe('INVALID_CSR');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects indefinite, non-minimal and truncated lengths', () => {
    expect(() => parseDer(Uint8Array.of(0x30, 0x80, 0, 0))).toThrow(DerError);
    expect(() => parseDer(Uint8Array.of(0x04, 0x81, 0x01, 0))).toThrow(DerError);
    expect(() => parseDer(Uint8Array.of(0x04, 0x05, 0))).toThrow(DerError);
    expect(() => parseDer(Uint8Array.of(0x04, 0x01, 0, 0))).toThrow(DerError);
  });
});

describe('LocalCa', () => {
  it('creates a CA once, keeps its key owner-only and reuses it', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toContain('CN=Fleetwire Local CA');
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    if (process.platform !== 'win32')
      expect(statSync(join(dir, 'ca', 'ca.key.pem')).mode & 0o777).toBe(0o600);
    const again = LocalCa.open(join(dir, 'ca'));
    expect(again.caPem).toBe(ca.caPem);
    createPrivateKey(readFileSync(join(dir, 'ca', 'ca.key.pem'), 'utf8'));
  });

  it('issues device certificates with CN = device id, signed by the CA, for clients only', () => {
    const issued = ca.issueDevice('pump-7');
    const cert = new X509Certificate(issued.pem);
    expect(cert.subject).toContain('CN=pump-7');
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(cert.keyUsage).not.toContain('1.3.6.1.5.5.7.3.1');
    expect(issued.fingerprint).toBe(fingerprintOf(cert.raw));
    expect(cert.serialNumber.toLowerCase()).toBe(issued.serialHex);
    expect(cert.checkPrivateKey(createPrivateKey(issued.privateKeyPem ?? ''))).toBe(true);
    expect(ca.issueDevice('pump-7').fingerprint).not.toBe(issued.fingerprint);
  });

  it('issues a server certificate for localhost and the loopback addresses', () => {
    const { certPem } = ca.serverCredentials(['fleet.example']);
    const cert = new X509Certificate(certPem);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('fleet.example')).toBe('fleet.example');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
  });

  it('signs a CSR with its own key (EC and RSA), ignoring the requested subject', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const a = ca.issueDevice(
      'dev-ec',
      csr(ec.publicKey, ec.privateKey, { digest: 'sha384', sigOid: '1.2.840.10045.4.3.3' }),
    );
    expect(a.privateKeyPem).toBeUndefined();
    const certA = new X509Certificate(a.pem);
    expect(certA.subject).toContain('CN=dev-ec');
    expect(certA.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      ec.publicKey.export({ type: 'spki', format: 'der' }),
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const b = ca.issueDevice(
      'dev-rsa',
      csr(rsa.publicKey, rsa.privateKey, { sigOid: '1.2.840.113549.1.1.11' }),
    );
    expect(new X509Certificate(b.pem).verify(caCert.publicKey)).toBe(true);
  });

  it('refuses CSRs that are unsigned, weak, mismatched or not CSRs', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const bad = [
      csr(ec.publicKey, ec.privateKey, { tamper: true }),
      csr(ec.publicKey, other.privateKey),
      csr(weak.publicKey, weak.privateKey, { sigOid: '1.2.840.113549.1.1.11' }),
      csr(k1.publicKey, k1.privateKey),
      csr(ec.publicKey, ec.privateKey, { sigOid: '1.2.840.113549.1.1.11' }),
      csr(ec.publicKey, ec.privateKey, { sigOid: '1.2.840.10045.4.1' }),
      toPem('CERTIFICATE', new X509Certificate(ca.caPem).raw),
      '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n',
      'hello',
      `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(20_000)}\n-----END CERTIFICATE REQUEST-----\n`,
    ];
    for (const pem of bad) {
      expect(() => parseCsr(pem)).toThrow(DerError);
      expect(() => ca.issueDevice('x', pem)).toThrow(DerError);
    }
    expect(parseCsr(csr(ec.publicKey, ec.privateKey, { cn: 'asked' })).commonName).toBe('asked');
  });
});
