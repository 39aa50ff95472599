/**
 * `cdktf-tailnet doctor`: checks a running deployment from outside, the way clients see it, and
 * reports each finding with a fix. Every check is derived from the resolved model: which names
 * must resolve to which addresses, which certificate or pin each DERP node must present, where
 * STUN must answer, which headscale release must run (and whether it has a known advisory:
 * doctor-versions.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { request as httpRequest } from "node:http";
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from "node:tls";
import { crc32 } from "node:zlib";
import type { ResolvedDerpNode, ResolvedTailnet } from "../model/index.js";
import type { BackupHost } from "./backup-host.js";
import { checkBackups } from "./doctor-backups.js";
import { clientFinding, headscaleVersionFinding, releaseOfVersionAnswer } from "./doctor-versions.js";
import { allNodes, hostNamed } from "../model/walk.js";
import { joinHostPort } from "../model/net.js";
import type { DoctorFinding } from "./doctor-finding.js";

export type { DoctorFinding } from "./doctor-finding.js";

/** Options of a doctor run. */
export interface DoctorOptions {
  /** DNS server (`ip` or `ip:port`) to resolve names with; default: the system's. */
  readonly dnsServer?: string;
  /** Fixed answers, like curl's --resolve: host name -> address (skips DNS for that name). */
  readonly resolve?: Readonly<Record<string, string>>;
  /** Extra CA certificates (PEM) trusted for headscale's and DERP nodes' certificates. */
  readonly ca?: string;
  /** Per-check time limit. @default 5000 ms */
  readonly timeoutMs?: number;
  /** headscale's host, to check its newest backup (`doctor --via`); none: not checked. */
  readonly backups?: BackupHost;
  /** Called as each check finishes (progress). */
  readonly onFinding?: (finding: DoctorFinding) => void;
}

/**
 * The capability version the doctor announces on /key: a current client's (headscale refuses
 * versions below its supported floor, 113 in 0.29).
 */
export const DOCTOR_CAPABILITY_VERSION = 130;

const ok = (check: string, target: string, detail: string): DoctorFinding => ({ check, target, ok: true, detail, fix: "" });
const bad = (check: string, target: string, detail: string, fix: string): DoctorFinding => ({ check, target, ok: false, detail, fix });

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Addresses a name resolves to (A and AAAA), honouring fixed answers. */
async function lookup(name: string, options: DoctorOptions): Promise<string[]> {
  const fixed = options.resolve?.[name];
  if (fixed) return [fixed];
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 5000, tries: 1 });
  if (options.dnsServer) resolver.setServers([options.dnsServer]);
  const [v4, v6] = await Promise.all([resolver.resolve4(name).catch(() => []), resolver.resolve6(name).catch(() => [])]);
  return [...v4, ...v6];
}

/** A TLS handshake to `address:port` presenting SNI `servername`; returns the peer certificate. */
function tlsHandshake(
  address: string,
  port: number,
  servername: string | undefined,
  options: DoctorOptions,
): Promise<{ socket: TLSSocket; cert: PeerCertificate; authorized: boolean; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port, servername, rejectUnauthorized: false, ...(options.ca ? { ca: options.ca } : {}) }, () => {
      resolve({ socket, cert: socket.getPeerCertificate(true), authorized: socket.authorized, error: socket.authorizationError?.toString() });
    });
    socket.once("error", reject);
  });
}

/** A plain HTTP/1.1 request over an established TLS socket (the same connection whose certificate was checked). */
function httpOverSocket(socket: TLSSocket, method: string, path: string, host: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body ?? "";
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${body !== undefined ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n` : ""}\r\n${payload}`,
    );
    let data = "";
    socket.on("data", (d) => (data += d.toString()));
    socket.once("end", () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
      const sep = data.indexOf("\r\n\r\n");
      let content = sep >= 0 ? data.slice(sep + 4) : "";
      if (/transfer-encoding:\s*chunked/i.test(data.slice(0, sep))) content = content.replace(/^[0-9a-f]+\r\n|\r\n[0-9a-f]+\r\n|\r\n0\r\n\r\n$/gi, "");
      resolve({ status, body: content });
    });
    socket.once("error", reject);
  });
}

function pinOf(cert: PeerCertificate): string {
  return `sha256-raw:${createHash("sha256").update(cert.raw).digest("hex")}`;
}

/**
 * A STUN binding request as Tailscale clients send it (RFC 5389 with SOFTWARE "tailnode" and a
 * FINGERPRINT: derper ignores any other request).
 */
export function stunRequest(txn: Buffer): Buffer {
  const software = Buffer.from("tailnode");
  const header = Buffer.from([0x00, 0x01, 0x00, 4 + software.length + 8, 0x21, 0x12, 0xa4, 0x42]);
  const softwareAttr = Buffer.concat([Buffer.from([0x80, 0x22, 0x00, software.length]), software]);
  const body = Buffer.concat([header, txn, softwareAttr]);
  const fingerprint = Buffer.alloc(8);
  fingerprint.writeUInt16BE(0x8028, 0);
  fingerprint.writeUInt16BE(4, 2);
  fingerprint.writeUInt32BE((crc32(body) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([body, fingerprint]);
}

/** A STUN binding; resolves with the mapped address the server reports. */
export function stunBinding(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
    const txn = randomBytes(12);
    const request = stunRequest(txn);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no STUN answer from ${joinHostPort(address, port)} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("message", (msg) => {
      if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0101 || !msg.subarray(8, 20).equals(txn)) return;
      clearTimeout(timer);
      socket.close();
      let mapped = "(no mapped address)";
      for (let i = 20; i + 4 <= msg.length; ) {
        const type = msg.readUInt16BE(i);
        const len = msg.readUInt16BE(i + 2);
        if (type === 0x0020 && msg[i + 5] === 0x01) {
          const p = msg.readUInt16BE(i + 6) ^ 0x2112;
          const ip = [0, 1, 2, 3].map((k) => msg[i + 8 + k]! ^ [0x21, 0x12, 0xa4, 0x42][k]!).join(".");
          mapped = `${ip}:${p}`;
        }
        i += 4 + len + ((4 - (len % 4)) % 4);
      }
      resolve(mapped);
    });
    socket.send(request, port, address, (e) => {
      if (e) {
        clearTimeout(timer);
        socket.close();
        reject(e);
      }
    });
  });
}

async function checkDns(tailnet: ResolvedTailnet, options: DoctorOptions): Promise<DoctorFinding[]> {
  const wanted = new Map<string, Set<string>>();
  const add = (name: string, value: string | undefined) => {
    if (value === undefined || value === "none" || /\$\{/.test(value)) return;
    if (!wanted.has(name)) wanted.set(name, new Set());
    wanted.get(name)!.add(value);
  };
  const hsHost = hostNamed(tailnet, tailnet.headscale.host);
  add(tailnet.headscale.serverHost, hsHost?.publicIpv4);
  add(tailnet.headscale.serverHost, hsHost?.publicIpv6);
  for (const node of allNodes(tailnet)) {
    if (node.hostnameIsIp) continue;
    add(node.hostname, node.ipv4);
    add(node.hostname, node.ipv6);
  }
  const findings: DoctorFinding[] = [];
  for (const [name, expected] of wanted) {
    const got = await lookup(name, options).catch((): string[] => []);
    const missing = [...expected].filter((a) => !got.includes(a));
    findings.push(
      missing.length === 0
        ? ok("dns", name, `resolves to ${got.join(", ")}`)
        : bad(
            "dns",
            name,
            got.length ? `resolves to ${got.join(", ")}, not ${missing.join(", ")}` : "does not resolve",
            `point ${name} at ${[...expected].join(" and ")} (A/AAAA records; the kit's DnsRecords construct manages them)`,
          ),
    );
  }
  return findings;
}

async function checkHeadscale(tailnet: ResolvedTailnet, options: DoctorOptions): Promise<DoctorFinding[]> {
  const url = new URL(tailnet.headscale.serverUrl);
  const host = url.hostname;
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const timeout = options.timeoutMs ?? 5000;
  const findings: DoctorFinding[] = [];
  const address = (await lookup(host, options).catch((): string[] => []))[0];
  if (!address) return [bad("headscale", url.origin, `${host} does not resolve`, "create its DNS record first")];
  if (url.protocol !== "https:") {
    findings.push(bad("headscale tls", url.origin, "the server URL is plain http", "serve headscale over https (clients and derper's /verify need TLS)"));
    return findings;
  }
  const call = async (method: string, path: string, body?: string) => {
    const { socket, authorized, error } = await withTimeout(tlsHandshake(address, port, host, options), timeout, `${url.origin}`);
    if (!authorized) {
      socket.destroy();
      throw Object.assign(new Error(`certificate not trusted: ${error}`), { tls: true });
    }
    return withTimeout(httpOverSocket(socket, method, path, url.host, body), timeout, `${method} ${path}`);
  };
  try {
    const health = await call("GET", "/health");
    findings.push(
      health.status === 200 && /"pass"/.test(health.body)
        ? ok("headscale /health", url.origin, `200 ${health.body.trim()}`)
        : bad(
            "headscale /health",
            url.origin,
            `${health.status} ${health.body.trim().slice(0, 80)}`,
            "check headscale's logs: the database or its key files are not healthy",
          ),
    );
    findings.push(ok("headscale tls", url.origin, "certificate valid for the server name"));
  } catch (e) {
    const tls = (e as { tls?: boolean }).tls;
    findings.push(
      bad(
        tls ? "headscale tls" : "headscale /health",
        url.origin,
        (e as Error).message,
        tls
          ? `serve a certificate for ${host} from a CA clients trust (tls.mode letsencrypt, or files with the full chain)`
          : `make headscale reachable at ${url.origin} (firewall, listen address, proxy)`,
      ),
    );
    return findings;
  }
  let running: string | undefined;
  try {
    const answer = await call("GET", "/version");
    running = answer.status === 200 ? releaseOfVersionAnswer(answer.body) : undefined;
    findings.push(headscaleVersionFinding(tailnet, url.origin, answer));
  } catch (e) {
    findings.push(
      bad(
        "headscale version",
        url.origin,
        (e as Error).message,
        "headscale 0.27 and later answer GET /version: a proxy in front of headscale must pass it through",
      ),
    );
  }
  findings.push(clientFinding(tailnet, url.origin, running));
  try {
    const key = await call("GET", `/key?v=${DOCTOR_CAPABILITY_VERSION}`);
    findings.push(
      key.status === 200 && /mkey:|"publicKey"/i.test(key.body)
        ? ok("headscale /key", url.origin, "serves its machine key")
        : bad(
            "headscale /key",
            url.origin,
            `${key.status} ${key.body.trim().slice(0, 80)}`,
            "a proxy in front of headscale must pass /key and /ts2021 through unchanged",
          ),
    );
  } catch (e) {
    findings.push(bad("headscale /key", url.origin, (e as Error).message, "a proxy in front of headscale must pass /key through"));
  }
  try {
    const verify = await call("POST", "/verify", JSON.stringify({ NodePublic: `nodekey:${randomBytes(32).toString("hex")}`, Source: "127.0.0.1" }));
    findings.push(
      verify.status === 200 && /"Allow":\s*false/.test(verify.body)
        ? ok("headscale /verify", url.origin, "refuses an unknown node, as derper expects")
        : bad(
            "headscale /verify",
            url.origin,
            `${verify.status} ${verify.body.trim().slice(0, 80)}`,
            "derper's -verify-client-url needs headscale 0.24+ answering POST /verify; a proxy must pass it through",
          ),
    );
  } catch (e) {
    findings.push(bad("headscale /verify", url.origin, (e as Error).message, "derper's client verification depends on it: make POST /verify reachable"));
  }
  return findings;
}

async function checkNode(node: ResolvedDerpNode, options: DoctorOptions): Promise<DoctorFinding[]> {
  const timeout = options.timeoutMs ?? 5000;
  const findings: DoctorFinding[] = [];
  const target = `${node.name} (${node.hostname})`;
  const address = node.hostnameIsIp
    ? node.hostname
    : ((node.ipv4 && node.ipv4 !== "none" && !node.ipv4.includes("${") ? node.ipv4 : undefined) ??
      (await lookup(node.hostname, options).catch((): string[] => []))[0]);
  if (!address) return [bad("derp", target, `${node.hostname} does not resolve and the map gives no address`, "create its DNS record, or set the node's ipv4")];
  if (!node.stunOnly) {
    try {
      const { socket, cert, authorized, error } = await withTimeout(
        tlsHandshake(address, node.derpPort, node.hostnameIsIp ? undefined : node.hostname, options),
        timeout,
        joinHostPort(address, node.derpPort),
      );
      const pin = pinOf(cert);
      let trusted: boolean;
      let why: string;
      if (node.certName?.startsWith("sha256-raw:")) {
        trusted = pin === node.certName;
        why = trusted ? "presents the pinned certificate" : `presents ${pin}, not the pinned ${node.certName}`;
      } else if (node.insecureForTests) {
        trusted = true;
        why = "not verified (insecureForTests)";
      } else {
        trusted = authorized;
        why = authorized ? `certificate valid for ${node.certName ?? node.hostname}` : `certificate not trusted: ${error}`;
      }
      findings.push(
        trusted
          ? ok("derp tls", target, why)
          : bad(
              "derp tls",
              target,
              why,
              node.certName?.startsWith("sha256-raw:")
                ? "render and deploy again so the map's pin matches the node's certificate (or restore the certificate the pin names)"
                : `serve a certificate for ${node.hostname} (derper manual mode needs ${node.derper.certFileBase}.crt/.key)`,
            ),
      );
      if (trusted) {
        const probe = await withTimeout(httpOverSocket(socket, "GET", "/derp/probe", node.hostname), timeout, "/derp/probe");
        findings.push(
          probe.status === 200
            ? ok("derp /derp/probe", target, "200")
            : bad("derp /derp/probe", target, `${probe.status}`, "this is not derper on that port, or a proxy is in front of it (derper must not be proxied)"),
        );
      } else {
        socket.destroy();
      }
    } catch (e) {
      findings.push(bad("derp tls", target, (e as Error).message, `open TCP ${node.derpPort} to ${address} and check derper is running`));
    }
  }
  if (node.stunPort > 0) {
    try {
      const mapped = await stunBinding(address, node.stunPort, timeout);
      findings.push(ok("stun", target, `binding answered, mapped ${mapped}`));
    } catch (e) {
      findings.push(bad("stun", target, (e as Error).message, `open UDP ${node.stunPort} to ${address} (do not rate-limit STUN)`));
    }
  }
  if (node.canPort80) {
    const status = await withTimeout(
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: address, port: 80, path: "/generate_204", headers: { Host: node.hostname } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      }),
      timeout,
      "/generate_204",
    ).catch((e: Error) => e.message);
    findings.push(
      status === 204
        ? ok("derp port 80", target, "/generate_204 answers 204")
        : bad("derp port 80", target, `${status}`, "open TCP 80 (captive-portal checks), or set canPort80: false"),
    );
  }
  return findings;
}

/** Runs every check; findings come back in a fixed order (DNS, headscale, then nodes by region). */
export async function runDoctor(tailnet: ResolvedTailnet, options: DoctorOptions = {}): Promise<DoctorFinding[]> {
  const all: DoctorFinding[] = [];
  const report = (fs: DoctorFinding[]) => {
    for (const f of fs) options.onFinding?.(f);
    all.push(...fs);
  };
  report(await checkDns(tailnet, options));
  report(await checkHeadscale(tailnet, options));
  for (const node of allNodes(tailnet)) report(await checkNode(node, options));
  if (options.backups) report(await checkBackups(tailnet, options.backups));
  return all;
}

/** The findings as a table a person reads at a glance. */
export function formatFindings(findings: readonly DoctorFinding[]): string {
  const rows = findings.map((f) => [f.ok ? "ok" : "FAIL", f.check, f.target, f.detail]);
  const widths = [4, ...[1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length), 5))];
  const lines = rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`);
  const fixes = findings.filter((f) => !f.ok).map((f) => `- ${f.check} ${f.target}: ${f.fix}`);
  const failed = findings.filter((f) => !f.ok).length;
  return [...lines, "", `${findings.length - failed} ok, ${failed} failed`, ...(fixes.length ? ["", "fixes:", ...fixes] : [])].join("\n");
}
