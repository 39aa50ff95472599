/**
 * A real ACME server for the tests: Debian's `pebble` (Let's Encrypt's test CA) on 127.0.0.1,
 * resolving DNS-01 challenges through a DNS server the test names (`-dnsserver`). Its HTTPS
 * listener uses a certificate from a throw-away CA made here by the kit's own issuer
 * (secrets/x509.ts; the CA's key never touches the disk); only the test's
 * processes trust that CA (lego through LEGO_CA_CERTIFICATES, node through `ca`), nothing is added
 * to any system trust store. Started as a child process, stopped by its pid.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../fsx/atomic-file.js";
import { issueCertificate } from "../../secrets/index.js";
import { freeLoopbackPorts } from "./headscale-process.js";
import { missingTool } from "./requirements.js";
import { stopChild } from "./processes.js";

/** Why the ACME tests cannot run here, or undefined. */
export const pebbleSkipReason: string | undefined = missingTool("pebble", "lego");

export interface Pebble {
  /** The ACME directory URL. */
  readonly directoryUrl: string;
  /** The CA that signed pebble's own HTTPS certificate (PEM file), for LEGO_CA_CERTIFICATES. */
  readonly listenerCaFile: string;
  readonly pid: number;
  /** Pebble's issuing root, which the certificates it issues chain to (PEM). */
  root(): Promise<string>;
  stop(): Promise<void>;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Starts pebble; `dnsServer` is `host:port` of the resolver it checks DNS-01 records with. */
export async function startPebble(dnsServer: string): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-pebble-"));
  const [acme, mgmt, http, tls] = await freeLoopbackPorts(4);
  // A throw-away CA and pebble's listener certificate for 127.0.0.1.
  const listenerCa = issueCertificate({ commonName: "cdktf-tailnet test CA for pebble", names: [], days: 2, ca: true });
  const listener = issueCertificate({ commonName: "127.0.0.1", names: ["127.0.0.1", "localhost"], days: 2, issuer: listenerCa });
  writeFileAtomic(join(dir, "ca.pem"), listenerCa.certPem, 0o644);
  writeFileAtomic(join(dir, "listener.key"), listener.keyPem, 0o600);
  writeFileAtomic(join(dir, "listener.pem"), listener.certPem, 0o644);
  writeFileSync(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acme}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: join(dir, "listener.pem"),
        privateKey: join(dir, "listener.key"),
        httpPort: http,
        tlsPort: tls,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child: ChildProcess = spawn("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", dnsServer, "-strict=false"], {
    stdio: ["ignore", "pipe", "pipe"],
    // No artificial validation delays, no rejected nonces, and no reuse of earlier authorizations
    // (so a renewal answers a fresh DNS-01 challenge).
    env: { PATH: process.env.PATH, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
  });
  let log = "";
  child.stdout!.on("data", (d) => (log += d.toString()));
  child.stderr!.on("data", (d) => (log += d.toString()));
  const ca = listenerCa.certPem;
  const directoryUrl = `https://127.0.0.1:${acme}/dir`;
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`pebble exited with ${child.exitCode}:\n${log}`);
    }
    const ok = await get(directoryUrl, ca).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`pebble did not answer at ${directoryUrl}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    directoryUrl,
    listenerCaFile: join(dir, "ca.pem"),
    pid: child.pid!,
    root: async () => (await get(`https://127.0.0.1:${mgmt}/roots/0`, ca)).body,
    stop,
  };
}
