/**
 * The VM and firewall rules of validation (model/vm.ts), each with a bad input and the exact
 * message it produces; every issue also carries a fix. Inputs start from test/support/vm-specs.ts
 * `vmSpec()` (hosts: 0 hs, 1 fra-1, 2 fra-2, 3 home, 4 edge) and change one thing.
 */
import { describe, expect, it } from "vitest";
import { validate } from "../../model/index.js";
import { FAKE_SHA256, vmProxySpec, vmSpec } from "../support/vm-specs.js";

type Case = [name: string, mutate: (spec: any) => void, expected: [path: string, message: string][]];

const cases: Case[] = [
  [
    "admin cidr garbage",
    (s) => {
      s.hosts[0].firewall = { adminCidrs: ["office"] };
    },
    [["hosts[0].firewall.adminCidrs[0]", '"office" is not an IP address or prefix']],
  ],
  [
    "admin cidr host bits",
    (s) => {
      s.hosts[0].firewall = { adminCidrs: ["192.0.2.7/24"] };
    },
    [["hosts[0].firewall.adminCidrs[0]", '"192.0.2.7/24" has host bits set']],
  ],
  [
    "admin single addresses",
    (s) => {
      s.hosts[0].firewall = { adminCidrs: ["192.0.2.7", "2001:db8::7"] };
    },
    [],
  ],
  [
    "admin token",
    (s) => {
      s.hosts[0].firewall = { adminCidrs: ["${TfToken[TOKEN.1]}"] };
    },
    [["hosts[0].firewall.adminCidrs[0]", '"${TfToken[TOKEN.1]}" contains "${", which Terraform would evaluate; an IP address or prefix never holds it']],
  ],
  [
    "ssh port range",
    (s) => {
      s.hosts[0].firewall.sshPort = 70000;
    },
    [["hosts[0].firewall.sshPort", "70000 is not a port"]],
  ],
  [
    "ssh port taken",
    (s) => {
      s.hosts[0].firewall.sshPort = 443;
    },
    [["hosts[0].firewall.sshPort", "tcp port 443 is also opened by headscale (control)"]],
  ],
  [
    "ssh port taken by derper",
    (s) => {
      s.hosts[1].firewall = { sshPort: 80 };
    },
    [["hosts[1].firewall.sshPort", "tcp port 80 is also opened by derper fra-1 (http)"]],
  ],
  [
    "vm with docker",
    (s) => {
      s.hosts[0].docker = { daemon: "ssh://deploy@203.0.113.10" };
    },
    [["hosts[0].vm", "is set together with docker; a host runs its services either in Docker or under systemd on the VM"]],
  ],
  [
    "headscale install missing",
    (s) => {
      delete s.hosts[0].vm.headscale;
    },
    [["hosts[0].vm.headscale", "is required: this VM runs headscale, and the SHA-256 of its release file cannot be defaulted"]],
  ],
  [
    "derper install missing",
    (s) => {
      delete s.hosts[1].vm.derper;
    },
    [["hosts[1].vm.derper", 'is required: this VM runs DERP node "fra-1", and derper has no release binary']],
  ],
  [
    "two derpers on a VM",
    (s) => {
      s.derp.regions[0].nodes[1].host = "fra-1";
    },
    [["hosts[1]", 'runs DERP nodes "fra-1", "fra-2"; a VM runs one derper (they would share /var/lib/derper)']],
  ],
  [
    "headscale sha",
    (s) => {
      s.hosts[0].vm.headscale.sha256 = "abc";
    },
    [["hosts[0].vm.headscale.sha256", '"abc" is not a SHA-256']],
  ],
  [
    "headscale sha upper case ok",
    (s) => {
      s.hosts[0].vm.headscale.sha256 = FAKE_SHA256.toUpperCase();
    },
    [],
  ],
  [
    "headscale url",
    (s) => {
      s.hosts[0].vm.headscale.url = "ftp://mirror.example.com/headscale";
    },
    [["hosts[0].vm.headscale.url", '"ftp://mirror.example.com/headscale" is not an https, http or file URL']],
  ],
  [
    "headscale file url ok",
    (s) => {
      s.hosts[0].vm.headscale.url = "file:///opt/headscale";
    },
    [],
  ],
  [
    "headscale kind",
    (s) => {
      s.hosts[0].vm.headscale.kind = "rpm";
    },
    [["hosts[0].vm.headscale.kind", '"rpm" is not one of "binary", "deb"']],
  ],
  [
    "arch",
    (s) => {
      s.hosts[0].vm.arch = "x86_64";
    },
    [["hosts[0].vm.arch", '"x86_64" is not one of "amd64", "arm64"']],
  ],
  [
    "go version",
    (s) => {
      s.hosts[1].vm.derper = { source: "build", goVersion: "latest", goSha256: FAKE_SHA256 };
    },
    [["hosts[1].vm.derper.goVersion", '"latest" is not a release number']],
  ],
  [
    "go sha",
    (s) => {
      s.hosts[1].vm.derper = { source: "build", goSha256: "sha256:abc" };
    },
    [["hosts[1].vm.derper.goSha256", '"sha256:abc" is not a SHA-256']],
  ],
  [
    "go sha missing",
    (s) => {
      s.hosts[1].vm.derper = { source: "build" };
    },
    [["hosts[1].vm.derper.goSha256", "is required"]],
  ],
  [
    "go url",
    (s) => {
      s.hosts[1].vm.derper = { source: "build", goSha256: FAKE_SHA256, goUrl: "go.dev/dl/go.tgz" };
    },
    [["hosts[1].vm.derper.goUrl", '"go.dev/dl/go.tgz" is not an https, http or file URL']],
  ],
  [
    "derper source",
    (s) => {
      s.hosts[1].vm.derper = { source: "git", goSha256: FAKE_SHA256 };
    },
    [["hosts[1].vm.derper.source", '"git" is not one of "build", "url", "local"']],
  ],
  [
    "derper url sha missing",
    (s) => {
      delete s.hosts[4].vm.derper.sha256;
    },
    [["hosts[4].vm.derper.sha256", "is required"]],
  ],
  [
    "derper url sha",
    (s) => {
      s.hosts[4].vm.derper.sha256 = "z".repeat(64);
    },
    [["hosts[4].vm.derper.sha256", `"${"z".repeat(40)}…" is not a SHA-256`]],
  ],
  [
    "derper binary url with build key",
    (s) => {
      s.hosts[4].vm.derper.goSha256 = FAKE_SHA256;
    },
    [["hosts[4].vm.derper.goSha256", 'belongs to source "build", not source "url"']],
  ],
  [
    "headscale local file ok",
    (s) => {
      s.hosts[0].vm.headscale.localFile = "dist/headscale";
    },
    [],
  ],
  [
    "headscale local file and url",
    (s) => {
      s.hosts[0].vm.headscale = { url: "https://mirror.example.com/headscale", localFile: "dist/headscale", sha256: FAKE_SHA256 };
    },
    [["hosts[0].vm.headscale.localFile", "is set together with url; headscale is either downloaded by the VM or uploaded from this machine"]],
  ],
  [
    "headscale local file empty",
    (s) => {
      s.hosts[0].vm.headscale.localFile = " ";
    },
    [["hosts[0].vm.headscale.localFile", "is empty"]],
  ],
  [
    "headscale local file token",
    (s) => {
      s.hosts[0].vm.headscale.localFile = "${TfToken[TOKEN.7]}";
    },
    [["hosts[0].vm.headscale.localFile", '"${TfToken[TOKEN.7]}" contains "${", which Terraform would evaluate; a local file path never holds it']],
  ],
  [
    "derper local file ok",
    (s) => {
      s.hosts[4].vm.derper = { source: "local", localFile: "dist/derper", sha256: FAKE_SHA256 };
    },
    [],
  ],
  [
    "derper local file sha",
    (s) => {
      s.hosts[4].vm.derper = { source: "local", localFile: "dist/derper", sha256: "abc" };
    },
    [["hosts[4].vm.derper.sha256", '"abc" is not a SHA-256']],
  ],
  [
    "derper local file missing",
    (s) => {
      s.hosts[4].vm.derper = { source: "local", sha256: FAKE_SHA256 };
    },
    [["hosts[4].vm.derper.localFile", "is required"]],
  ],
  [
    "derper local file with url",
    (s) => {
      s.hosts[4].vm.derper = { source: "local", localFile: "dist/derper", url: "https://example.com/derper", sha256: FAKE_SHA256 };
    },
    [["hosts[4].vm.derper.url", 'belongs to source "url", not source "local"']],
  ],
  [
    "ssh private key",
    (s) => {
      s.hosts[0].vm.sshAuthorizedKeys = ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n-----END OPENSSH PRIVATE KEY-----"];
    },
    [["hosts[0].vm.sshAuthorizedKeys[0]", "is a private key; the spec never holds secrets"]],
  ],
  [
    "ssh key garbage",
    (s) => {
      s.hosts[0].vm.sshAuthorizedKeys = ["AAAAC3NzaC1lZDI1NTE5"];
    },
    [["hosts[0].vm.sshAuthorizedKeys[0]", "a 20-character value (not shown: it may be a secret) is not an SSH public key"]],
  ],
  [
    "ssh ecdsa key ok",
    (s) => {
      s.hosts[0].vm.sshAuthorizedKeys = ["ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= ops"];
    },
    [],
  ],
  [
    "tls files in /home",
    (s) => {
      s.headscale.tls = { mode: "files", certPath: "/home/admin/hs.crt", keyPath: "/etc/headscale/hs.key" };
    },
    [["headscale.tls.certPath", '"/home/admin/hs.crt" is hidden from headscale by its unit\'s sandbox (ProtectHome=yes, PrivateTmp=yes)']],
  ],
  [
    "policy in /tmp",
    (s) => {
      s.headscale.policy = { path: "/tmp/policy.json" };
    },
    [["headscale.policy.path", '"/tmp/policy.json" is hidden from headscale by its unit\'s sandbox (ProtectHome=yes, PrivateTmp=yes)']],
  ],
  [
    "oidc secret via credentials",
    (s) => {
      s.headscale.oidc = { issuer: "https://login.example.com", clientId: "hs", clientSecretPath: "${CREDENTIALS_DIRECTORY}/oidc_client_secret" };
    },
    [
      [
        "headscale.oidc.clientSecretPath",
        '"${CREDENTIALS_DIRECTORY}/oidc_client_secret" names systemd credentials, but the kit\'s headscale unit on a VM loads none',
      ],
    ],
  ],
  [
    "files in /etc are fine",
    (s) => {
      s.headscale.tls = { mode: "files", certPath: "/etc/headscale/hs.crt", keyPath: "/etc/headscale/hs.key" };
      s.headscale.policy = { path: "/etc/headscale/policy.json" };
    },
    [],
  ],
  [
    "unknown vm key",
    (s) => {
      s.hosts[0].vm.sshKeys = [];
    },
    [["hosts[0].vm.sshKeys", 'unknown key "sshKeys" (allowed here: arch, sshAuthorizedKeys, headscale, derper)']],
  ],
];

describe("validate: VM targets and host firewalls", () => {
  it("accepts the VM specs the renderer tests use, with the model's warnings about what they leave to the operator", () => {
    const result = validate(vmSpec());
    expect(result.issues).toEqual([]);
    expect(result.warnings.map((w) => [w.path, w.message, w.subject])).toEqual([
      [
        "headscale.backup.restic",
        "headscale's backups stay on host hs (/var/lib/headscale-backup): losing the host loses the tailnet's state and every backup of it",
        { kind: "headscale" },
      ],
      [
        "derp.regions[1].nodes[0].certificate",
        "DERP node home-1 serves TLS from certificate files (derper -certmode=manual) that the spec does not give: derper does not start until derp-home.example.com.crt and derp-home.example.com.key are in /var/lib/derper/certs on host home (on a Docker host, in the node's data volume)",
        { kind: "derp-node", node: "home-1" },
      ],
      [
        "derp.regions[2].nodes[0].certificate",
        "DERP node edge-1 (198.51.100.50) has no certificate files in the spec: unless 198.51.100.50.crt and .key are in /var/lib/derper/certs on host edge, derper generates a new self-signed certificate at its first start, which clients refuse unless certName is its sha256-raw pin",
        { kind: "derp-node", node: "edge-1" },
      ],
    ]);
    const proxy = validate(vmProxySpec());
    expect(proxy.issues).toEqual([]);
    expect(proxy.warnings.map((w) => [w.path, w.message, w.fix])).toEqual([
      [
        "headscale.database",
        "the kit backs up headscale's private keys only: nothing of the kit backs up the PostgreSQL database, which holds every node, user, key and route",
        "back the database up with PostgreSQL's own tools (pg_dump or continuous archiving) on its own schedule",
      ],
      [
        "headscale.backup.restic",
        "headscale's backups stay on host hs (/var/lib/headscale-backup): losing the host loses the tailnet's state and every backup of it",
        'add headscale.backup.restic with a repository off the host, e.g. { repository: "sftp:backup@backup.example.com:/srv/restic/headscale" } (its password in /etc/cdktf-tailnet/restic-password on the host)',
      ],
    ]);
  });

  it.each(cases)("%s", (_name, mutate, expected) => {
    const spec = vmSpec();
    mutate(spec);
    const result = validate(spec);
    expect(result.issues.map((i) => [i.path, i.message])).toEqual(expected);
    for (const issue of result.issues) expect(issue.fix.length).toBeGreaterThan(5);
  });

  it("fixes say where the SHA-256 comes from", () => {
    const spec: any = vmSpec();
    delete spec.hosts[0].vm.headscale;
    delete spec.hosts[2].vm.derper;
    const fixes = validate(spec).issues.map((i) => i.fix);
    expect(fixes[0]).toContain("https://github.com/juanfont/headscale/releases (checksums.txt of the release, file headscale_<version>_linux_amd64)");
    expect(fixes[1]).toBe(
      'add derper: { source: "build", goSha256: "<SHA-256 of go1.26.8.linux-arm64.tar.gz from https://go.dev/dl/>" }, or { source: "url", url: "...", sha256: "..." } for a binary of your own',
    );
  });

  it("warns, without refusing, about a VM nobody can administer and about admins from anywhere", () => {
    const spec: any = vmSpec();
    delete spec.hosts[1].firewall;
    spec.hosts[2].firewall = { adminCidrs: ["0.0.0.0/0"] };
    const result = validate(spec);
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => [w.path, w.message])).toEqual([
      ["hosts[1].firewall.adminCidrs", "is empty, so the VM's firewall closes SSH to everyone (sessions already open stay open)"],
      ["hosts[2].firewall.adminCidrs[0]", '"0.0.0.0/0" admits every address: SSH, metrics and gRPC are open to everyone'],
      ...validate(vmSpec()).warnings.map((w) => [w.path, w.message]),
    ]);
  });
});

describe("validate: admin networks that admit everyone between them", () => {
  /** The warnings beyond those vmSpec() always has (what the model leaves to the operator). */
  const warned = (adminCidrs: string[]) => {
    const spec: any = vmSpec();
    spec.hosts[0].firewall = { adminCidrs };
    const result = validate(spec);
    expect(result.issues).toEqual([]);
    const always = new Set(validate(vmSpec()).warnings.map((w) => `${w.path}\n${w.message}`));
    return result.warnings.filter((w) => !always.has(`${w.path}\n${w.message}`)).map((w) => [w.path, w.message, w.fix]);
  };
  const fix = "list only the networks you administer the host from";

  it("warns about two halves as it warns about /0", () => {
    expect(warned(["0.0.0.0/1", "128.0.0.0/1"])).toEqual([
      ["hosts[0].firewall.adminCidrs", '"0.0.0.0/1", "128.0.0.0/1" together admit every IPv4 address: SSH, metrics and gRPC are open to everyone', fix],
    ]);
    expect(warned(["8000::/1", "192.0.2.0/24", "::/1"])).toEqual([
      ["hosts[0].firewall.adminCidrs", '"8000::/1", "::/1" together admit every IPv6 address: SSH, metrics and gRPC are open to everyone', fix],
    ]);
  });

  it("warns about any split whose union is the whole space, overlaps and single addresses included", () => {
    expect(warned(["128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/3", "10.0.0.0/8", "203.0.113.7"])).toHaveLength(1);
    expect(warned(["0.0.0.0/1", "0.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"])).toHaveLength(1);
  });

  it("stays quiet when part of the space is left out, and warns about a /0 only once", () => {
    expect(warned(["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/5"])).toEqual([]);
    expect(warned(["0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1"])).toEqual([
      ["hosts[0].firewall.adminCidrs[0]", '"0.0.0.0/0" admits every address: SSH, metrics and gRPC are open to everyone', fix],
    ]);
  });
});
