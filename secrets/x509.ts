/**
 * A minimal X.509 v3 issuer: the kit's one way to make a certificate (no openssl command line).
 * It issues ECDSA P-256 certificates, self-signed or signed by a CA it issued:
 * - a DERP node's self-signed server certificate, whose SHA-256 pin (`CertName:
 *   "sha256-raw:<hex>"`) clients check instead of a CA chain ({@link issueSelfSigned});
 * - the lab's CA and the server certificates it signs (lab/certs.ts, through
 *   {@link issueCertificate}).
 * Node has X.509 parsing (X509Certificate) but no issuing, so the DER is assembled here. SAN IP
 * addresses are encoded by the kit's one IP library (model/net.ts: 4 bytes for IPv4, 16 for IPv6,
 * IPv4-mapped included; a zone is refused). Every certificate it makes is parsed back by node and
 * checked by openssl in the tests.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
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
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

/** One DER element: its tag, the whole element, and its content. */
interface Element {
  readonly tag: number;
  readonly whole: Buffer;
  readonly content: Buffer;
}

/** The elements of a DER sequence's content (or of any run of elements), in order. */
function elements(der: Buffer): Element[] {
  const out: Element[] = [];
  for (let at = 0; at < der.length; ) {
    const tag = der[at]!;
    let len = der[at + 1]!;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
      header += n;
    }
    if (at + header + len > der.length) throw new Error("cdktf-tailnet: not a DER certificate (an element runs past its end)");
    out.push({ tag, whole: der.subarray(at, at + header + len), content: der.subarray(at + header, at + header + len) });
    at += header + len;
  }
  return out;
}

/** SHA-1 of the public key's bits: the key identifier RFC 5280 (4.2.1.2) describes first. */
function keyIdentifier(spki: Buffer): Buffer {
  const bitString = elements(elements(spki)[0]!.content)[1]!;
  return createHash("sha1").update(bitString.content.subarray(1)).digest();
}

/** What a CA certificate lends the certificates it signs: its subject (their issuer, byte for byte) and its key identifier. */
function issuerOf(certDer: Buffer): { name: Buffer; keyId: Buffer } {
  const tbs = elements(elements(elements(certDer)[0]!.content)[0]!.content);
  const at = tbs[0]!.tag === 0xa0 ? 1 : 0; // [0] version
  const [name, spki] = [tbs[at + 4]!, tbs[at + 5]!];
  const extensions = tbs.find((e) => e.tag === 0xa3);
  const ski = extensions && elements(elements(extensions.content)[0]!.content).find((e) => elements(e.content)[0]!.whole.equals(oid(OID.subjectKeyIdentifier)));
  return { name: name.whole, keyId: ski ? elements(elements(ski.content).at(-1)!.content)[0]!.content : keyIdentifier(spki.whole) };
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/** A certificate the kit just issued, and its new private key. */
export interface KitCertificate {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** The certificate's DER bytes (what a pin is computed over). */
  readonly der: Buffer;
}

/** What to issue. */
export interface CertificateRequest {
  /** The subject's common name. */
  readonly commonName: string;
  /** DNS names and IP addresses the certificate is for (its SAN; IP addresses by model/net.ts); none for a CA. */
  readonly names: readonly string[];
  /** Valid from one hour before `now` for this many days. */
  readonly days: number;
  /** @default - now */
  readonly now?: Date;
  /** A CA certificate (CA:TRUE; keyCertSign, cRLSign), not a TLS server certificate. */
  readonly ca?: boolean;
  /** The CA that signs it (its certificate and ECDSA P-256 key, PEM); self-signed without one. */
  readonly issuer?: { readonly certPem: string | Buffer; readonly keyPem: string | Buffer };
}

const pem = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;

/** Issues an ECDSA P-256 certificate as `request` says: the kit's one certificate issuer. */
export function issueCertificate(request: CertificateRequest): KitCertificate {
  if (!request.ca && request.names.length === 0) throw new Error("cdktf-tailnet: a server certificate needs at least one name");
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  let signer = { key: privateKey, name: undefined as Buffer | undefined, keyId: undefined as Buffer | undefined };
  if (request.issuer) {
    const ca = new X509Certificate(request.issuer.certPem);
    const key = createPrivateKey(request.issuer.keyPem);
    if (!ca.ca) throw new Error(`cdktf-tailnet: ${ca.subject} is not a CA certificate, so it cannot sign others`);
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
      throw new Error("cdktf-tailnet: the issuing CA's key is not an ECDSA P-256 key");
    if (!ca.checkPrivateKey(key)) throw new Error(`cdktf-tailnet: the key given is not the private key of ${ca.subject}`);
    signer = { key, ...issuerOf(ca.raw) };
  }
  const der = buildCertificate(request, signer, spki);
  return { der, certPem: pem("CERTIFICATE", der), keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

/**
 * Issues a self-signed ECDSA P-256 server certificate for `name` (an IP address, put in an
 * iPAddress SAN, or a DNS name, put in a dNSName SAN), valid from one hour ago for `days` days.
 */
export function issueSelfSigned(name: string, days: number, now: Date = new Date()): KitCertificate {
  return issueCertificate({ commonName: name, names: [name], days, now });
}

/** A SAN entry: an iPAddress (the address's bytes, by model/net.ts) or a dNSName. */
function generalName(name: string): Buffer {
  const ip = parseIp(name);
  return ip ? tlv(0x87, Buffer.from(ipBytes(ip))) : tlv(0x82, Buffer.from(name, "ascii"));
}

function buildCertificate(request: CertificateRequest, signer: { key: KeyObject; name: Buffer | undefined; keyId: Buffer | undefined }, spki: Buffer): Buffer {
  const now = request.now ?? new Date();
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const subject = seq(set(seq(oid(OID.commonName), utf8(request.commonName))));
  const sigAlg = seq(oid(OID.ecdsaWithSha256));
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + request.days * 86400_000);
  const san = request.names.length > 0 ? [extension(OID.subjectAltName, false, seq(...request.names.map(generalName)))] : [];
  const authorityKeyId = signer.keyId ? [extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, signer.keyId)))] : [];
  const extensions = explicit(
    3,
    seq(
      ...(request.ca
        ? [
            extension(OID.basicConstraints, true, seq(bool(true))),
            extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x01, 0x06]))), // keyCertSign, cRLSign
            extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(spki))),
          ]
        : [
            extension(OID.basicConstraints, true, seq()),
            extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
            extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
          ]),
      ...authorityKeyId,
      ...san,
    ),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    sigAlg,
    signer.name ?? subject,
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    extensions,
  );
  return seq(tbs, sigAlg, bits(sign("sha256", tbs, signer.key)));
}

/** The pin Tailscale clients check: `sha256-raw:` and the hex SHA-256 of the DER certificate. */
export function certificatePin(der: Buffer): string {
  return `sha256-raw:${createHash("sha256").update(der).digest("hex")}`;
}
