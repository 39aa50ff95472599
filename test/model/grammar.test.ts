/**
 * The grammars of the spec's strings (model/grammar.ts): for each, values it accepts and values it
 * refuses with the exact message; a property test over hostile strings (every YAML line
 * terminator, NUL, Terraform interpolations, quotes, shell metacharacters, `../`, 10 kB values);
 * and the attacks of issue 13 through validate(), each refused at its path.
 */
import { describe, expect, it } from "vitest";
import { GRAMMARS, checkGrammar, fieldGrammar, type GrammarName } from "../../model/grammar.js";
import { validate } from "../../model/index.js";
import { minimalSpec } from "../support/specs.js";

/** What a grammar says about a value: "ok", or the message of its problem. */
function verdict(grammar: string, value: string): string {
  return checkGrammar(value, fieldGrammar(grammar), undefined, true)?.message ?? "ok";
}

const cases: Record<GrammarName, { accepts: string[]; refuses: [string, string][] }> = {
  identifier: {
    accepts: ["hk-1", "a", "home-router", "r0-n0", `a${"b".repeat(62)}`],
    refuses: [
      ["Home Lab", '"Home Lab" is not an identifier'],
      ["1abc", '"1abc" is not an identifier'],
      ["abc-", '"abc-" is not an identifier'],
      ["home-1;id>PWN;true", '"home-1;id>PWN;true" is not an identifier'],
      ["../x", '"../x" is not an identifier'],
      ["fra\n[Service]", '"fra\\n[Service]" contains a line break (U+000A), which an identifier never holds'],
      ["a".repeat(64), `"${"a".repeat(40)}…" is 64 characters long; an identifier has at most 63`],
    ],
  },
  dnsName: {
    accepts: ["derp.example.com", "localhost", "home.arpa", "xn--bcher-kva.example"],
    refuses: [
      ["example.com.", '"example.com." is not a DNS name'],
      ["a_b.com", '"a_b.com" is not a DNS name'],
      ["-a.com", '"-a.com" is not a DNS name'],
      ["x\u2028bootcmd", '"x\\u2028bootcmd" contains a line break (U+2028), which a DNS name never holds'],
    ],
  },
  host: {
    accepts: ["derp.example.com", "192.0.2.1", "2001:db8::1"],
    refuses: [
      ["https://derp.example.com", '"https://derp.example.com" is not a host name or IP address'],
      ["derp.example.com:8443", '"derp.example.com:8443" is not a host name or IP address'],
      ["[::1]", '"[::1]" is not a host name or IP address'],
    ],
  },
  ipAddress: {
    accepts: ["192.0.2.1", "2001:db8::1", "::"],
    refuses: [
      ["office", '"office" is not an IP address'],
      ["192.0.2.1/24", '"192.0.2.1/24" is not an IP address'],
    ],
  },
  ipPrefix: {
    accepts: ["10.0.0.0/8", "fd7a::/48", "10.0.0.1"],
    refuses: [
      ["office", '"office" is not an IP address or prefix'],
      ["10.0.0.0/8\n", '"10.0.0.0/8\\n" contains a line break (U+000A), which an IP address or prefix never holds'],
    ],
  },
  listenAddress: {
    accepts: ["0.0.0.0:8080", ":443", "[::]:443", "localhost:9090"],
    refuses: [
      ["8080", '"8080" is not a listen address'],
      ["0.0.0.0:80 extra", '"0.0.0.0:80 extra" is not a listen address'],
    ],
  },
  hostPort: {
    accepts: ["1.1.1.1", "1.1.1.1:53", "[2606:4700::1111]:53", "ns1.example.com"],
    refuses: [["dns google", '"dns google" is not an address with an optional port']],
  },
  httpsUrl: {
    accepts: ["https://login.example.com", "https://a.example.com:8443/dir?x=1&y=2", "https://[2001:db8::1]/dns-query", "https://a.example.com/%41"],
    refuses: [
      ["http://login.example.com", '"http://login.example.com" is not an https URL'],
      ["https://user:pw@login.example.com", '"https://user:pw@login.example.com" is not an https URL'],
      ["https://a.example.com/$(reboot)", '"https://a.example.com/$(reboot)" is not an https URL'],
      ["https://a.example.com/#frag", '"https://a.example.com/#frag" is not an https URL'],
      ["https://a.example.com/%{x}", '"https://a.example.com/%{x}" contains "%{", which Terraform would evaluate; an https URL never holds it'],
    ],
  },
  webUrl: {
    accepts: ["http://hs.example.com", "https://hs.example.com", "https://127.0.0.1:8443"],
    refuses: [
      ["hs.example.com", '"hs.example.com" is not an http or https URL'],
      ["ftp://x.example.com", '"ftp://x.example.com" is not an http or https URL'],
      [
        "https://hs.example.com\n[Service]\nExecStartPre=+/bin/sh -c id",
        '"https://hs.example.com\\n[Service]\\nExecSta…" contains a line break (U+000A), which an http or https URL never holds',
      ],
    ],
  },
  downloadUrl: {
    accepts: ["https://example.com/derper", "http://mirror.example.com/d", "file:///srv/derper"],
    refuses: [
      ["file://relative", '"file://relative" is not an https, http or file URL'],
      ["https://example.com/d?a=1&b=`x`", '"https://example.com/d?a=1&b=`x`" is not an https, http or file URL'],
      ["file:///srv/../etc/shadow", '"file:///srv/../etc/shadow" is not an https, http or file URL'],
    ],
  },
  dockerDaemon: {
    accepts: ["ssh://deploy@203.0.113.10", "ssh://host:2222", "tcp://host:2376", "unix:///var/run/docker.sock", "ssh://[2001:db8::1]:22"],
    refuses: [
      ["203.0.113.10", '"203.0.113.10" is not a Docker engine address'],
      ["ssh://root@${var.secret}", '"ssh://root@${var.secret}" contains "${", which Terraform would evaluate; a Docker engine address never holds it'],
      ["ssh://a;b@host", '"ssh://a;b@host" is not a Docker engine address'],
      ["ssh://user:password@host", '"ssh://user:password@host" is not a Docker engine address'],
      ["tcp://host", '"tcp://host" is not a Docker engine address'],
    ],
  },
  absolutePath: {
    accepts: ["/etc/headscale/secret", "/etc/cdktf-tailnet/cloudflare-token", "/var/lib/.hidden", "/a/b@c+d~e"],
    refuses: [
      ["relative/path", '"relative/path" is not an absolute path'],
      ["/etc/../shadow", '"/etc/../shadow" is not an absolute path'],
      ["/etc/./x", '"/etc/./x" is not an absolute path'],
      ["/etc/x y", '"/etc/x y" is not an absolute path'],
      ["/etc/$HOME", '"/etc/$HOME" is not an absolute path'],
      ["/etc/%h", '"/etc/%h" is not an absolute path'],
      ["/etc/cdktf\n[Service]", '"/etc/cdktf\\n[Service]" contains a line break (U+000A), which an absolute path never holds'],
    ],
  },
  resticRepository: {
    accepts: [
      "/srv/backup/headscale",
      "sftp:backup@backup.example.com:/srv/restic/hs",
      "sftp://backup@[2001:db8::1]:2222//srv/restic",
      "s3:https://s3.example.com/bucket/hs",
      "s3:s3.amazonaws.com/bucket",
      "rest:https://backup.example.com:8000/hs",
      // Lexically fine; model/backup.ts refuses it without echoing the password.
      "rest:https://me:secret@backup.example.com/hs",
    ],
    refuses: [
      ["b2:bucket:path", '"b2:bucket:path" is not a restic repository'],
      ["backups/hs", '"backups/hs" is not a restic repository'],
      ["/srv/my backups", '"/srv/my backups" is not a restic repository'],
      ["sftp:host:/x;reboot", '"sftp:host:/x;reboot" is not a restic repository'],
      ["s3:https://${var.bucket}/x", '"s3:https://${var.bucket}/x" contains "${", which Terraform would evaluate; a restic repository never holds it'],
    ],
  },
  credentialPath: {
    accepts: ["${CREDENTIALS_DIRECTORY}/oidc_client_secret"],
    refuses: [
      ["${CREDENTIALS_DIRECTORY}/../x", '"${CREDENTIALS_DIRECTORY}/../x" is not a path in systemd\'s credentials directory'],
      ["${HOME}/x", '"${HOME}/x" contains "${", which Terraform would evaluate; a path in systemd\'s credentials directory never holds it'],
    ],
  },
  localPath: {
    accepts: ["dist/derper", "../build/derper", "/home/me/My Files/derper"],
    refuses: [
      ["${path.module}/derper", '"${path.module}/derper" contains "${", which Terraform would evaluate; a local file path never holds it'],
      ["a\nb", '"a\\nb" contains a line break (U+000A), which a local file path never holds'],
      ["", '"" is not a local file path'],
    ],
  },
  freeText: {
    accepts: ["Hong Kong", "Zürich (Süd)", "東京", "50% off, $5", "Edge (IP only)", 'say "hi"; `x` \\ y', ""],
    refuses: [
      ["Shanghai ${TfToken[TOKEN.29]}", '"Shanghai ${TfToken[TOKEN.29]}" contains "${", which Terraform would evaluate; one line of text never holds it'],
      ["100%{x}", '"100%{x}" contains "%{", which Terraform would evaluate; one line of text never holds it'],
      ["x\u2028bootcmd: [id]", '"x\\u2028bootcmd: [id]" contains a line break (U+2028), which one line of text never holds'],
      ["x\u2029y", '"x\\u2029y" contains a line break (U+2029), which one line of text never holds'],
      ["a\u0085b", '"a\\u0085b" contains a line break (U+0085), which one line of text never holds'],
      ["a\rb", '"a\\rb" contains a line break (U+000D), which one line of text never holds'],
      ["a\u202eb", '"a\\u202eb" contains a bidirectional control character (U+202E), which one line of text never holds'],
      ["a\u0000b", '"a\\u0000b" contains a NUL character (U+0000), which one line of text never holds'],
      ["a\u001bb", '"a\\u001bb" contains a control character (U+001B), which one line of text never holds'],
      ["a".repeat(201), `"${"a".repeat(40)}…" is 201 characters long; one line of text has at most 200`],
    ],
  },
  cloudflareId: {
    accepts: ["0123456789abcdef0123456789abcdef"],
    refuses: [
      ["0123456789ABCDEF0123456789ABCDEF", '"0123456789ABCDEF0123456789ABCDEF" is not a Cloudflare id'],
      ["abc\n[Service]", '"abc\\n[Service]" contains a line break (U+000A), which a Cloudflare id never holds'],
    ],
  },
  sha256: { accepts: ["a".repeat(64), "A".repeat(64)], refuses: [["abc", '"abc" is not a SHA-256']] },
  version: {
    accepts: ["1.102.3", "v0.29.3", "0.29.0-beta.1"],
    refuses: [
      ["latest", '"latest" is not a release number'],
      ["1.2", '"1.2" is not a release number'],
    ],
  },
  duration: {
    accepts: ["30m", "1h30m", "180d", "0", "1.5h"],
    refuses: [
      ["1 day", '"1 day" is not a duration'],
      ["-1h", '"-1h" is not a duration'],
    ],
  },
  email: {
    accepts: ["admin@example.com", "a.b+c@mail.example.org"],
    refuses: [
      ["admin", '"admin" is not an e-mail address'],
      ["admin@example.com\nBcc: x", '"admin@example.com\\nBcc: x" contains a line break (U+000A), which an e-mail address never holds'],
    ],
  },
  sshPublicKey: {
    accepts: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@laptop", "ecdsa-sha2-nistp256 AAAAE2VjZHNh"],
    refuses: [
      ["ssh-ed25519 AAAA x\ny", '"ssh-ed25519 AAAA x\\ny" contains a line break (U+000A), which an SSH public key never holds'],
      ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "is a private key; the spec never holds secrets"],
    ],
  },
  imageReference: {
    accepts: ["ghcr.io/me/derper:1.102.3", `derper@sha256:${"a".repeat(64)}`, "localhost:5000/derper"],
    refuses: [
      ["My Image", '"My Image" is not an image reference'],
      ["x;rm -rf /", '"x;rm -rf /" is not an image reference'],
    ],
  },
  databaseName: {
    accepts: ["headscale", "hs_db"],
    refuses: [
      ["1db", '"1db" is not a database name'],
      ["a b", '"a b" is not a database name'],
    ],
  },
  oauthToken: { accepts: ["headscale", "123-abc.apps.googleusercontent.com", "openid"], refuses: [["a b", '"a b" is not an OAuth client id or scope']] },
  parameterName: {
    accepts: ["domain_hint", "prompt"],
    refuses: [
      ["1x", '"1x" is not a parameter name'],
      ["__proto__", '"__proto__" is not a parameter name'],
    ],
  },
  parameterValue: {
    accepts: ["example.com", "", "select_account"],
    refuses: [
      ["a b", '"a b" is not a parameter value'],
      ['a"b', '"a\\"b" is not a parameter value'],
    ],
  },
  interfaceName: {
    accepts: ["eth0", "ppp0", "eth0.100"],
    refuses: [
      ["eth 0", '"eth 0" is not a network interface name'],
      ["a".repeat(16), '"aaaaaaaaaaaaaaaa" is 16 characters long; a network interface name has at most 15'],
    ],
  },
  tsigKeyName: { accepts: ["home-ddns", "key.example.com."], refuses: [["home ddns", '"home ddns" is not a TSIG key name']] },
  certName: { accepts: [`sha256-raw:${"0".repeat(64)}`, "derp.example.com"], refuses: [["sha256 raw", '"sha256 raw" is not a certificate name or pin']] },
  groupName: {
    accepts: ["group:admins"],
    refuses: [
      ["admins", '"admins" is not a group name'],
      ["group:Admins", '"group:Admins" is not a group name'],
    ],
  },
  tagName: {
    accepts: ["tag:router"],
    refuses: [
      ["router", '"router" is not a tag'],
      ["tag:Router", '"tag:Router" is not a tag'],
    ],
  },
  policyAlias: {
    accepts: ["*", "alice", "alice@", "group:admins", "tag:router", "autogroup:member", "192.168.1.0/24", "fd7a::/48"],
    refuses: [
      ["a b", '"a b" is not a policy alias'],
      ["x;y", '"x;y" is not a policy alias'],
    ],
  },
  aclDestination: { accepts: ["*:*", "tag:router:22,443", "home-lan:*"], refuses: [["a b:22", '"a b:22" is not an ACL destination']] },
  ipProtocol: {
    accepts: ["tcp", "17"],
    refuses: [
      ["TCP", '"TCP" is not an IP protocol'],
      ["tcp udp", '"tcp udp" is not an IP protocol'],
    ],
  },
  sshOption: {
    accepts: ["-o", "StrictHostKeyChecking=yes", "UserKnownHostsFile=~/.ssh/known_hosts", "ControlPath=~/.ssh/cm-%r@%h:%p", "-i"],
    refuses: [
      ["-o\nProxyCommand=x", '"-o\\nProxyCommand=x" contains a line break (U+000A), which an ssh argument never holds'],
      ["ProxyCommand=${var.x}", '"ProxyCommand=${var.x}" contains "${", which Terraform would evaluate; an ssh argument never holds it'],
      ["", '"" is not an ssh argument'],
    ],
  },
};

describe("grammars", () => {
  it("every grammar has cases here", () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(GRAMMARS).sort());
  });

  it.each(Object.entries(cases))("%s: accepts its values and refuses others with the exact message", (name, { accepts, refuses }) => {
    for (const value of accepts) expect(verdict(name, value), JSON.stringify(value)).toBe("ok");
    for (const [value, message] of refuses) expect(verdict(name, value)).toBe(message);
    for (const [value] of refuses) expect(checkGrammar(value, fieldGrammar(name), undefined, true)!.fix.length).toBeGreaterThan(10);
  });

  it("patterns compile for JSON Schema tools, with and without the u flag, and match what the check accepts", () => {
    for (const g of Object.values(GRAMMARS)) {
      for (const flags of ["", "u"]) expect(() => new RegExp(`^(?:${g.pattern})$`, flags), g.name).not.toThrow();
      for (const value of cases[g.name as GrammarName].accepts) expect(new RegExp(`^(?:${g.pattern})$`).test(value), `${g.name} ${value}`).toBe(true);
    }
  });

  it("a field's alternatives: literals, empty and Terraform tokens", () => {
    expect(verdict('ipAddress | "none" | token', "none")).toBe("ok");
    expect(verdict('ipAddress | "none" | token', "${TfToken[TOKEN.3]}")).toBe("ok");
    expect(verdict('ipAddress | "none" | token', "nope")).toBe('"nope" is not an IP address, or "none"');
    expect(verdict('listenAddress | ""', "")).toBe("ok");
    expect(verdict('dnsName | ""', "x y")).toBe('"x y" is not a DNS name');
    expect(fieldGrammar('dnsName | ""').fix).toBe('write a DNS name without scheme, port or trailing dot, e.g. "derp1.example.com"; or leave it empty');
    expect(verdict("ipAddress | httpsUrl", "dns.google")).toBe('"dns.google" is not an IP address or an https URL');
    expect(() => fieldGrammar("identifer")).toThrow('unknown grammar "identifer"');
  });

  it("Terraform tokens only where a field allows them, and only in a spec that is a TypeScript object", () => {
    const daemon = fieldGrammar("dockerDaemon | token");
    expect(checkGrammar("ssh://root@${TfToken[TOKEN.0]}", daemon, "daemon", true)).toBeUndefined();
    expect(checkGrammar("ssh://root@${aws_instance.relay.public_ip}", daemon, "daemon", true)).toBeUndefined();
    expect(checkGrammar("ssh://root@${TfToken[TOKEN.0]}", daemon, "daemon", false)?.message).toBe(
      '"ssh://root@${TfToken[TOKEN.0]}" holds a Terraform token, which only a spec written in TypeScript with cdktf can hold',
    );
    // Not a reference: a function call or an expression is no token.
    expect(checkGrammar('ssh://root@${file("/etc/shadow")}', daemon, "daemon", true)?.message).toBe(
      '"ssh://root@${file(\\"/etc/shadow\\")}" contains "${", which Terraform would evaluate; a Docker engine address never holds it',
    );
    expect(verdict("identifier", "${TfToken[TOKEN.1]}")).toBe(
      '"${TfToken[TOKEN.1]}" contains "${", which Terraform would evaluate; an identifier never holds it',
    );
  });
});

/** A small deterministic generator (mulberry32), so a failing case can be reproduced. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces hostile strings are made of. */
const PIECES = [
  "\n",
  "\r",
  "\r\n",
  "\u0085",
  "\u2028",
  "\u2029",
  "\u0000",
  "\u000b",
  "\u000c",
  "\u001b",
  "\u007f",
  "\u202e",
  "\u2066",
  "\ufeff",
  "${",
  "%{",
  "${TfToken[TOKEN.29]}",
  "${var.secret}",
  "}",
  "$",
  "%",
  '"',
  "'",
  "\\",
  ";",
  "`",
  "$(id)",
  "../",
  "..",
  "/",
  " ",
  "\t",
  "#",
  ":",
  "@",
  "&",
  "|",
  "<",
  ">",
  "*",
  "?",
  "[",
  "]",
  "=",
  ",",
  "a",
  "z",
  "0",
  "9",
  "-",
  ".",
  "_",
  "example.com",
  "hk-1",
  "192.0.2.1",
  "::1",
  "https://",
  "tag:",
  "group:",
  "ü",
  "東",
];

const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;

function hostile(next: () => number): string {
  const length = 1 + Math.floor(next() * 8);
  return Array.from({ length }, () => PIECES[Math.floor(next() * PIECES.length)]!).join("");
}

describe("grammars, property tests", () => {
  it("every grammar refuses, or accepts only a value that matches its pattern and holds nothing hostile", () => {
    const next = random(13);
    for (let i = 0; i < 4000; i++) {
      const value = hostile(next);
      for (const g of Object.values(GRAMMARS)) {
        const problem = checkGrammar(value, fieldGrammar(g.name), undefined, false);
        if (problem) {
          expect(problem.message.length).toBeLessThan(300);
          expect(problem.message).not.toMatch(FORBIDDEN);
          continue;
        }
        const context = `${g.name} accepted ${JSON.stringify(value)}`;
        expect(new RegExp(`^(?:${g.pattern})$`, "u").test(value), context).toBe(true);
        expect(value.length, context).toBeLessThanOrEqual(g.maxLength);
        expect(FORBIDDEN.test(value), context).toBe(false);
        const interpolation = value.replace("${CREDENTIALS_DIRECTORY}/", "");
        expect(/[$%]\{/.test(interpolation), context).toBe(false);
        if (g !== GRAMMARS.localPath && g !== GRAMMARS.freeText && g !== GRAMMARS.sshPublicKey && g !== GRAMMARS.sshOption) {
          expect(/[\s"'`\\;|<>]/.test(value), context).toBe(false);
        }
        // Names and paths on the host never climb out of a directory.
        if ([GRAMMARS.identifier, GRAMMARS.dnsName, GRAMMARS.host, GRAMMARS.absolutePath, GRAMMARS.credentialPath, GRAMMARS.tsigKeyName].includes(g as never)) {
          expect(/(^|\/)\.\.(\/|$)/.test(value), context).toBe(false);
        }
        if (g === GRAMMARS.identifier) expect(value, context).toMatch(/^[a-z][a-z0-9-]*$/);
      }
    }
  });

  it("bounds every value: 10 kB strings are refused without echoing them", () => {
    const next = random(7);
    for (let i = 0; i < 20; i++) {
      const value = Array.from({ length: 10_000 }, () => PIECES[Math.floor(next() * 12)]!.slice(0, 1) || "a").join("");
      for (const g of Object.values(GRAMMARS)) {
        if (g.maxLength >= 10_000) continue;
        const problem = checkGrammar(value, fieldGrammar(g.name), "name", true);
        expect(problem, g.name).toBeDefined();
        expect(problem!.message.length, g.name).toBeLessThan(400); // 40 characters, each escaped to at most 6
      }
    }
    for (const g of Object.values(GRAMMARS)) {
      const problem = checkGrammar("a".repeat(20_000), fieldGrammar(g.name), "name", true);
      expect(problem?.message, g.name).toContain(`is 20000 characters long; ${g.title} has at most ${g.maxLength}`);
    }
  });
});

describe("the attacks of issue 13 are refused at their path", () => {
  type Attack = [name: string, mutate: (spec: any) => void, path: string, message: string];
  const unit = "\n[Service]\nExecStartPre=+/bin/sh -c 'id > /tmp/pwn'";
  const attacks: Attack[] = [
    [
      "DERP node name with a unit section",
      (s) => {
        s.derp.regions[0].nodes[0].name = `fra-1${unit}`;
      },
      "derp.regions[0].nodes[0].name",
      '"fra-1\\n[Service]\\nExecStartPre=+/bin/sh -c…" contains a line break (U+000A), which an identifier never holds',
    ],
    [
      "server URL with a unit section",
      (s) => {
        s.headscale.serverUrl = `https://hs.example.com${unit}`;
      },
      "headscale.serverUrl",
      '"https://hs.example.com\\n[Service]\\nExecSta…" contains a line break (U+000A), which an http or https URL never holds',
    ],
    [
      "server URL with credentials",
      (s) => {
        s.headscale.serverUrl = "https://admin:hunter2@hs.example.com";
      },
      "headscale.serverUrl",
      '"https://admin:hunter2@hs.example.com" is not an http or https URL',
    ],
    [
      "zone id with a unit section",
      (s) => {
        s.dns = { provider: "cloudflare", zoneName: "example.com", zoneId: `0123456789abcdef0123456789abcdef${unit}` };
      },
      "dns.zoneId",
      '"0123456789abcdef0123456789abcdef\\n[Servic…" contains a line break (U+000A), which a Cloudflare id never holds',
    ],
    [
      "token file with a unit section",
      (s) => {
        s.hosts = [{ name: "home", dynamicIp: true, ddns: { provider: { type: "cloudflare", tokenFile: `/etc/x${unit}` } } }];
        s.dns = { provider: "cloudflare", zoneName: "example.com" };
        s.derp.regions[0].nodes[0].host = "home";
      },
      "hosts[0].ddns.provider.tokenFile",
      '"/etc/x\\n[Service]\\nExecStartPre=+/bin/sh -…" contains a line break (U+000A), which an absolute path never holds',
    ],
    [
      "TSIG secret file with a unit section",
      (s) => {
        s.hosts = [
          {
            name: "home",
            dynamicIp: true,
            ddns: { provider: { type: "rfc2136", nameserver: "192.0.2.53", zone: "example.com", tsigKeyName: "k", tsigSecretFile: `/etc/x${unit}` } },
          },
        ];
        s.derp.regions[0].nodes[0].host = "home";
      },
      "hosts[0].ddns.provider.tsigSecretFile",
      '"/etc/x\\n[Service]\\nExecStartPre=+/bin/sh -…" contains a line break (U+000A), which an absolute path never holds',
    ],
    [
      "node name into a root shell script",
      (s) => {
        s.derp.regions[0].nodes[0].name = "home-1;id>PWN;true";
      },
      "derp.regions[0].nodes[0].name",
      '"home-1;id>PWN;true" is not an identifier',
    ],
    [
      "node name out of the secrets directory",
      (s) => {
        s.derp.regions[0].nodes[0].name = "../../../etc/cron.d/x";
      },
      "derp.regions[0].nodes[0].name",
      '"../../../etc/cron.d/x" is not an identifier',
    ],
    [
      "region name with U+2028 into cloud-init",
      (s) => {
        s.derp.regions[0].name = "Frankfurt\u2028bootcmd: [id]";
      },
      "derp.regions[0].name",
      '"Frankfurt\\u2028bootcmd: [id]" contains a line break (U+2028), which one line of text never holds',
    ],
    [
      "region name with U+0085",
      (s) => {
        s.derp.regions[0].name = "Frankfurt\u0085x: 1";
      },
      "derp.regions[0].name",
      '"Frankfurt\\u0085x: 1" contains a line break (U+0085), which one line of text never holds',
    ],
    [
      "region name with a bare CR",
      (s) => {
        s.derp.regions[0].name = "Frankfurt\rx: 1";
      },
      "derp.regions[0].name",
      '"Frankfurt\\rx: 1" contains a line break (U+000D), which one line of text never holds',
    ],
    [
      "region name with a cdktf token",
      (s) => {
        s.derp.regions[0].name = "Shanghai ${TfToken[TOKEN.29]}";
      },
      "derp.regions[0].name",
      '"Shanghai ${TfToken[TOKEN.29]}" contains "${", which Terraform would evaluate; one line of text never holds it',
    ],
    [
      "node name with a Terraform interpolation",
      (s) => {
        s.derp.regions[0].nodes[0].name = "${var.cloudflare_api_token}";
      },
      "derp.regions[0].nodes[0].name",
      '"${var.cloudflare_api_token}" contains "${", which Terraform would evaluate; an identifier never holds it',
    ],
    [
      "docker daemon with a Terraform expression",
      (s) => {
        s.hosts = [{ name: "a", docker: { daemon: 'ssh://root@${file("/etc/shadow")}' } }];
      },
      "hosts[0].docker.daemon",
      '"ssh://root@${file(\\"/etc/shadow\\")}" contains "${", which Terraform would evaluate; a Docker engine address never holds it',
    ],
    [
      "ssh option with a line break",
      (s) => {
        s.hosts = [{ name: "a", docker: { daemon: "ssh://root@a.example.com", sshOpts: ["-o", "User=x\nProxyCommand=/tmp/x"] } }];
      },
      "hosts[0].docker.sshOpts[1]",
      '"User=x\\nProxyCommand=/tmp/x" contains a line break (U+000A), which an ssh argument never holds',
    ],
  ];

  it.each(attacks)("%s", (_name, mutate, path, message) => {
    const spec = minimalSpec();
    mutate(spec);
    const result = validate(spec);
    expect(result.ok).toBe(false);
    expect(result.issues.map((i) => [i.path, i.message])).toContainEqual([path, message]);
  });
});
