/**
 * DNS-01 issuance end to end, with the ACME client the kit installs on hosts: the rendered
 * acme-renew.sh runs Debian's lego against a real ACME server (Debian's pebble on 127.0.0.1, its
 * test CA trusted only by this test), lego answers the challenge with RFC 2136 updates signed with
 * a TSIG key to a real BIND 9 the test starts, and pebble checks the TXT record through that BIND.
 *
 * On a systemd host (the files rendered for one) lego only stages the certificate in its own state
 * directory, and never touches derper's. What systemd then does is played here as the units say
 * (test/integration/vm-boot.test.ts proves the units themselves on a booted systemd): the install
 * unit runs the rendered acme-install-cert.sh with lego's files as its credentials, which puts them
 * under the file names derper loads, the key 0600; when that replaced derper's certificate, the
 * path unit restarts derper (here a stand-in that ends the running test derper by its pid and
 * starts a new one), which then serves the new certificate, verified against pebble's root.
 * Renewal: nothing happens while the certificate is fresh; a due renewal answers a fresh
 * challenge, and the new certificate is installed and served after one more restart; lost derper
 * copies are put back. Last, a Docker host's variant of the same scripts: lego's hook installs the
 * certificate and restarts derper itself. Everything on 127.0.0.1.
 */
import { X509Certificate } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DERPER_PATHS, loadTailnet, type ResolvedDerpNode, type TailnetSpec } from "../../model/index.js";
import { renderAcmeFiles } from "../../render/index.js";
import { bindSkipReason, startBind9, tsigSecret, type Bind9 } from "../support/bind9.js";
import { freeLoopbackPorts } from "../support/headscale-process.js";
import { envValue, runScript, setEnv, writeRendered } from "../support/host-scripts.js";
import { pebbleSkipReason, startPebble, type Pebble } from "../support/pebble.js";
import { minimalSpec } from "../support/specs.js";
import { upstreamBinary, upstreamSkipReason, upstreamVersions } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";
import { suiteScratchDir } from "../support/scratch.js";
import { derperArgs } from "../../render/command-lines.js";

const ZONE = "example.test";
const HOSTNAME = `derp-home.${ZONE}`;
const KEY = { name: "acme-dns01", algorithm: "hmac-sha256", secret: tsigSecret() };
const skip = bindSkipReason ?? pebbleSkipReason ?? upstreamSkipReason;

function spec(pebble: Pebble, bind: Bind9, derpPort: number, secretFile: string): TailnetSpec {
  const s = minimalSpec();
  s.derp!.derper = { verifyClients: false };
  s.derp!.regions![0]!.nodes = [
    {
      name: "home-1",
      host: "home",
      hostname: HOSTNAME,
      derpPort,
      stunPort: -1,
      certificate: {
        mode: "dns-01",
        email: "admin@example.test",
        acmeUrl: pebble.directoryUrl,
        provider: { type: "rfc2136", nameserver: "127.0.0.1", port: bind.port, zone: ZONE, tsigKeyName: KEY.name, tsigSecretFile: secretFile },
        resolvers: [`127.0.0.1:${bind.port}`],
        // BIND listens on a test port, not on 53, where lego queries the zone's nameservers.
        checkAuthoritativeNameservers: false,
      },
    },
  ];
  s.hosts = [{ name: "home" }];
  return s;
}

/** The certificate derper serves to a client that trusts only `root` and asks for HOSTNAME. */
function served(port: number, root: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername: HOSTNAME, ca: root, rejectUnauthorized: true }, () => {
      const cert = new X509Certificate(socket.getPeerCertificate(true).raw);
      socket.end();
      resolve(cert);
    });
    socket.on("error", reject);
  });
}

async function waitServed(port: number, root: string, expected: X509Certificate): Promise<X509Certificate> {
  const deadline = Date.now() + 15_000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const cert = await served(port, root);
      if (cert.fingerprint256 === expected.fingerprint256) return cert;
      last = `serves ${cert.serialNumber}, expected ${expected.serialNumber}`;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`derper does not serve the installed certificate: ${String(last)}`);
}

/** derper's restart, for the test: by pid, then a new derper with the model's flags. */
function restartScript(dir: string, node: ResolvedDerpNode, certDir: string): string {
  const derper = upstreamBinary("derper", upstreamVersions.tailscale);
  const args = derperArgs(node, { keyFile: join(dir, "derper.key"), certDir, meshKeyFile: DERPER_PATHS.meshKeyFile }, "127.0.0.1")
    .map((a) => `'${a}'`)
    .join(" ");
  return `#!/bin/sh
# Stand-in for derper's restart (the restart units, or a container's pkill): ends the test's derper
# by the pid it recorded, starts a new one with the model's flags, and records the restart.
set -u
dir='${dir}'
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat"; }
if [ -s "$dir/derper.pid" ]; then
  old=$(cat "$dir/derper.pid")
  kill -TERM "$old" 2>/dev/null
  i=0
  while alive "$old" && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi
nohup '${derper}' ${args} >> "$dir/derper.log" 2>&1 < /dev/null &
echo "$!" > "$dir/derper.pid"
echo "$!" >> "$dir/restarts.log"
`;
}

describe.skipIf(!!skipReason("acme-dns01", skip))(`DNS-01 with lego, pebble, BIND 9 and the real derper ${skip ?? ""}`, () => {
  const dir = suiteScratchDir("cdktf-tailnet-acme-dns01-");
  const certDir = join(dir, "certs");
  const secretFile = join(dir, "tsig.secret");
  let bind: Bind9;
  let pebble: Pebble;
  let node: ResolvedDerpNode;
  let root = "";
  let script = "";
  let hook = "";
  let config = "";
  const outputs: string[] = [];
  const timings: Record<string, number> = {};
  // lego trusts pebble's listener, and looks for its TXT record every second (default 2: speed only).
  const run = async (label: string, extra: Record<string, string> = {}) => {
    const r = await runScript(script, [config], { LEGO_CA_CERTIFICATES: pebble.listenerCaFile, RFC2136_POLLING_INTERVAL: "1", ...extra }, 90_000);
    outputs.push(r.stdout, r.stderr);
    timings[label] = r.ms;
    return r;
  };
  const restarts = () => (existsSync(join(dir, "restarts.log")) ? readFileSync(join(dir, "restarts.log"), "utf8").trim().split("\n") : []);
  const certPath = () => join(certDir, `${node.derper.certFileBase}.crt`);
  const installed = () => new X509Certificate(readFileSync(certPath()));
  /** lego's files, where the (moved) state directory has them. */
  const staged = () => {
    const acme = node.derper.acme!;
    return [acme.paths.stagedCertFile, acme.paths.stagedKeyFile].map((p) => p.replace(acme.paths.stateDir, join(dir, "lego"))) as [string, string];
  };
  /**
   * What systemd does after lego's unit succeeded: the install unit (OnSuccess=) runs the hook with
   * lego's files as its credentials "certificate" and "key"; when that replaced derper's
   * certificate, the path unit (PathChanged=) starts the restart (its gate finds both files there).
   */
  const handOff = async (label: string) => {
    const credentials = join(dir, "credentials");
    rmSync(credentials, { recursive: true, force: true });
    mkdirSync(credentials, { mode: 0o700 });
    const [crt, key] = staged();
    copyFileSync(crt, join(credentials, "certificate"));
    copyFileSync(key, join(credentials, "key"));
    const inode = () => (existsSync(certPath()) ? statSync(certPath()).ino : undefined);
    const before = inode();
    const r = await runScript(hook, [config], { CREDENTIALS_DIRECTORY: credentials });
    outputs.push(r.stdout, r.stderr);
    timings[`${label}-handoff`] = r.ms;
    rmSync(credentials, { recursive: true, force: true });
    if (r.exitCode === 0 && inode() !== before) {
      const restart = await runScript(join(dir, "restart-derper.sh"), []);
      expect(restart.exitCode).toBe(0);
    }
    return r;
  };

  beforeAll(async () => {
    bind = await startBind9({ zone: ZONE, records: [], keys: [KEY] });
    pebble = await startPebble(`127.0.0.1:${bind.port}`);
    root = await pebble.root();
    writeFileSync(secretFile, `${KEY.secret}\n`, { mode: 0o600 });
    const [derpPort] = await freeLoopbackPorts(1);
    node = loadTailnet(spec(pebble, bind, derpPort!, secretFile)).derp.regions[0]!.nodes[0]!;
    expect(node.derper.certificateSource).toBe("dns-01");
    expect(derperArgs(node)).toContain("-certmode=manual");
    const acme = node.derper.acme!;
    expect([acme.certFile, acme.keyFile]).toEqual([`${DERPER_PATHS.certDir}/${HOSTNAME}.crt`, `${DERPER_PATHS.certDir}/${HOSTNAME}.key`]);
    const files = renderAcmeFiles(loadTailnet(spec(pebble, bind, derpPort!, secretFile)));
    const env = files.find((f) => f.path.endsWith("acme-home-1.env"))!.content;
    expect(envValue(env, "ACME_HANDOFF")).toBe("units");
    expect(envValue(env, "DERPER_RESTART")).toBe("");
    mkdirSync(join(dir, "scripts"));
    writeFileSync(join(dir, "restart-derper.sh"), restartScript(dir, node, certDir), { mode: 0o755 });
    // The host paths move into the temp dir; the rest is as rendered.
    const paths = writeRendered(files, join(dir, "scripts"), (f) =>
      f.path.endsWith(".env") ? setEnv(f.content, { ACME_PATH: join(dir, "lego"), DERPER_CERT_DIR: certDir }) : f.content,
    );
    script = paths["acme-renew.sh"]!;
    hook = paths["acme-install-cert.sh"]!;
    config = paths["acme-home-1.env"]!;
  }, 60_000);

  afterAll(async () => {
    const pidFile = join(dir, "derper.pid");
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, "utf8")), "SIGTERM");
      } catch {
        /* already gone */
      }
    }
    await pebble?.stop();
    await bind?.stop();
    console.log(`acme-dns01 timings (ms): ${JSON.stringify(timings)}`);
    rmSync(dir, { recursive: true, force: true });
  });

  it("obtains the certificate through DNS-01 and stages it; the hand-off installs it under derper's names (key 0600) and derper starts with it", async () => {
    const r = await run("issue");
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    // lego staged it and left derper's directory alone.
    const [crt, key] = staged();
    expect(new X509Certificate(readFileSync(crt)).subjectAltName).toBe(`DNS:${HOSTNAME}`);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(existsSync(certDir)).toBe(false);
    expect(restarts()).toHaveLength(0);
    const h = await handOff("issue");
    expect(h.exitCode, `${h.stdout}\n${h.stderr}`).toBe(0);
    const cert = installed();
    expect(cert.fingerprint256).toBe(new X509Certificate(readFileSync(crt)).fingerprint256);
    expect(cert.subjectAltName).toBe(`DNS:${HOSTNAME}`);
    expect(cert.checkHost(HOSTNAME)).toBe(HOSTNAME);
    expect(statSync(join(certDir, `${HOSTNAME}.key`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(certDir, `${HOSTNAME}.crt`)).mode & 0o777).toBe(0o644);
    expect(restarts()).toHaveLength(1);
    // derper serves it, and it verifies against pebble's root for the node's host name.
    await waitServed(node.derpPort, root, cert);
    // The challenge went through BIND, signed with the key, and was cleaned up afterwards.
    expect(bind.updateLog()).toContain(`/key ${KEY.name}: updating zone '${ZONE}/IN': adding an RR at '_acme-challenge.${HOSTNAME}' TXT`);
    expect(bind.updateLog()).toMatch(
      new RegExp(`/key ${KEY.name}: updating zone '${ZONE}/IN': deleting an RR at _acme-challenge\\.${HOSTNAME.replace(/\./g, "\\.")} TXT`),
    );
  }, 90_000);

  it("leaves a fresh certificate and derper alone", async () => {
    const before = installed();
    const updates = bind.updateLog();
    const r = await run("renew-not-due");
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const h = await handOff("renew-not-due");
    expect(h.exitCode).toBe(0);
    expect(h.stdout).toContain("is already current");
    expect(installed().fingerprint256).toBe(before.fingerprint256);
    expect(restarts()).toHaveLength(1);
    expect(bind.updateLog()).toBe(updates);
  }, 90_000);

  it("renews when due: a fresh challenge, the new certificate handed over, derper restarted and serving it", async () => {
    const before = installed();
    // Renewal is due when fewer than ACME_RENEW_DAYS days are left: make every certificate due.
    writeFileSync(config, setEnv(readFileSync(config, "utf8"), { ACME_RENEW_DAYS: "100000" }));
    const renewed = await run("renew-due");
    expect(renewed.exitCode, `${renewed.stdout}\n${renewed.stderr}`).toBe(0);
    expect(installed().fingerprint256).toBe(before.fingerprint256); // not before the hand-off
    expect((await handOff("renew-due")).exitCode).toBe(0);
    const after = installed();
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(statSync(join(certDir, `${HOSTNAME}.key`)).mode & 0o777).toBe(0o600);
    expect(restarts()).toHaveLength(2);
    await waitServed(node.derpPort, root, after);
  }, 120_000);

  it("puts derper's copies back when they go missing, without a renewal", async () => {
    writeFileSync(config, setEnv(readFileSync(config, "utf8"), { ACME_RENEW_DAYS: "30" }));
    const before = installed();
    rmSync(join(certDir, `${HOSTNAME}.crt`));
    rmSync(join(certDir, `${HOSTNAME}.key`));
    const r = await run("reinstall");
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect((await handOff("reinstall")).exitCode).toBe(0);
    expect(installed().fingerprint256).toBe(before.fingerprint256);
    expect(statSync(join(certDir, `${HOSTNAME}.key`)).mode & 0o777).toBe(0o600);
    expect(restarts()).toHaveLength(3);
    await waitServed(node.derpPort, root, before);
  }, 90_000);

  it("a Docker host's variant: lego's hook installs a due certificate and restarts derper itself, and puts lost copies back", async () => {
    const restart = `/bin/sh ${join(dir, "restart-derper.sh")}`;
    writeFileSync(config, setEnv(readFileSync(config, "utf8"), { ACME_HANDOFF: "hook", DERPER_RESTART: restart, ACME_RENEW_DAYS: "100000" }));
    const before = installed();
    const renewed = await run("hook-renew-due");
    expect(renewed.exitCode, `${renewed.stdout}\n${renewed.stderr}`).toBe(0);
    const after = installed();
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.fingerprint256).toBe(new X509Certificate(readFileSync(staged()[0])).fingerprint256);
    expect(statSync(join(certDir, `${HOSTNAME}.key`)).mode & 0o777).toBe(0o600);
    expect(restarts()).toHaveLength(4);
    await waitServed(node.derpPort, root, after);
    writeFileSync(config, setEnv(readFileSync(config, "utf8"), { ACME_RENEW_DAYS: "30" }));
    rmSync(join(certDir, `${HOSTNAME}.key`));
    const r = await run("hook-reinstall");
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(installed().fingerprint256).toBe(after.fingerprint256);
    expect(statSync(join(certDir, `${HOSTNAME}.key`)).mode & 0o777).toBe(0o600);
    expect(restarts()).toHaveLength(5);
  }, 120_000);

  it("never prints the TSIG secret, and no rendered file holds it", () => {
    for (const out of outputs) expect(out).not.toContain(KEY.secret);
    for (const f of [script, hook, config]) expect(readFileSync(f, "utf8")).not.toContain(KEY.secret);
  });
});
