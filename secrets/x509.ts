/**
 * A minimal X.509 v3 builder for the one certificate the kit issues itself: a self-signed ECDSA
 * P-256 server certificate for a DERP node, whose SHA-256 pin (`CertName: "sha256-raw:<hex>"`)
 * clients check instead of a CA chain. Node has X.509 parsing (X509Certificate) but no issuing,
 * so the DER is assembled here; every certificate it makes is parsed back by node and checked by
 * openssl in the tests.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { ipBytes, parseIp } from "../model/net.js";

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, c: Buffer) => tlv(0xa0 + n, c);

function integer(value: Buffer): Buffer {
  let v = value;
  while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
  if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime up to 2049, GeneralizedTime after, as RFC 5280 requires. */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/** A freshly issued self-signed certificate and its key. */
export interface SelfSignedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** The DER bytes the pin is computed over. */
  readonly der: Buffer;
}

/**
 * Issues a self-signed ECDSA P-256 certificate for `name` (an IP address, put in an iPAddress
 * SAN, or a DNS name, put in a dNSName SAN), valid from one hour ago for `days` days.
 */
export function issueSelfSigned(name: string, days: number, now: Date = new Date()): SelfSignedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const der = buildCertificate(name, days, now, privateKey, publicKey.export({ type: "spki", format: "der" }));
  return {
    der,
    certPem: `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

function buildCertificate(name: string, days: number, now: Date, key: KeyObject, spki: Buffer): Buffer {
  const ip = parseIp(name);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const subject = seq(set(seq(oid(OID.commonName), utf8(name))));
  const sigAlg = seq(oid(OID.ecdsaWithSha256));
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + days * 86400_000);
  const san = seq(ip ? tlv(0x87, Buffer.from(ipBytes(ip))) : tlv(0x82, Buffer.from(name, "ascii")));
  const extensions = explicit(
    3,
    seq(
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
      extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, san),
    ),
  );
  const tbs = seq(explicit(0, integer(Buffer.from([2]))), integer(serial), sigAlg, subject, seq(time(notBefore), time(notAfter)), subject, spki, extensions);
  const signature = sign("sha256", tbs, key);
  return seq(tbs, sigAlg, bits(signature));
}

/** The pin Tailscale clients check: `sha256-raw:` and the hex SHA-256 of the DER certificate. */
export function certificatePin(der: Buffer): string {
  return `sha256-raw:${createHash("sha256").update(der).digest("hex")}`;
}
