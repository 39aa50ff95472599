/**
 * Specs headscale and derper would accept but that break a deployment (or, for warnings, put it at
 * risk): each case starts from minimalSpec(), changes one thing, and pins every issue's path,
 * message and fix, and every warning's. Cases that must stay accepted are pinned with [] too.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validate, type ModelWarning, type TailnetSpec, type ValidationResult } from "../../model/index.js";
import { deriveWarnings } from "../../model/warnings.js";
import { smallLabSpec } from "../../lab/specs.js";
import { exampleSpec, largeSpec, maximalSpec, minimalSpec } from "../support/specs.js";
import { vmDnsSpec, vmProxySpec, vmSpec } from "../support/vm-specs.js";

type Expected = [path: string, message: string, fix: string][];
type Case = [name: string, mutate: Mutate, issues: Expected, warnings?: Expected];

type Mutate = (s: any) => void;

/** Two Docker hosts `a` and `b`; the minimal spec's node fra-1 runs on `a`. */
const twoHosts: Mutate = (s) => {
  const docker = { daemon: "unix:///var/run/docker.sock" };
  s.hosts = [
    { name: "a", docker },
    { name: "b", docker },
  ];
  s.derp.regions[0].nodes[0].host = "a";
};
const region = (s: any, node: object) => s.derp.regions.push({ id: 901, code: "ams", name: "Amsterdam", nodes: [{ name: "ams-1", ...node }] });
const node = (s: any, over: object) => Object.assign(s.derp.regions[0].nodes[0], over);
const sshOpts = (s: any, opts: string[]) => {
  s.hosts = [{ name: "a", docker: { daemon: "ssh://deploy@203.0.113.10", sshOpts: opts } }];
};
const route = (s: any, r: string) => {
  s.devices = [{ name: "r", advertiseRoutes: [r] }];
};
const v6 = (s: any, over: object) => {
  s.hosts = [{ name: "a", publicIpv4: "203.0.113.10", ...over }];
};

/** The fix of an -o key outside the allow-list: the allow-list itself. */
const OPTION_FIX =
  "remove it; -o takes one of AddressFamily, BatchMode, CertificateFile, CheckHostIP, Ciphers, Compression, ConnectionAttempts, ConnectTimeout, ControlMaster, ControlPath, ControlPersist, FingerprintHash, GlobalKnownHostsFile, HashKnownHosts, HostKeyAlgorithms, HostKeyAlias, IdentitiesOnly, IdentityAgent, IdentityFile, IPQoS, KbdInteractiveAuthentication, KexAlgorithms, LogLevel, MACs, NumberOfPasswordPrompts, PasswordAuthentication, Port, PreferredAuthentications, ProxyJump, PubkeyAcceptedAlgorithms, PubkeyAcceptedKeyTypes, PubkeyAuthentication, RekeyLimit, RequiredRSASize, ServerAliveCountMax, ServerAliveInterval, StrictHostKeyChecking, TCPKeepAlive, UpdateHostKeys, User, UserKnownHostsFile, VerifyHostKeyDNS";
/** The fix of a flag outside the allow-list. */
const FLAGS_FIX = "use only -o Key=Value, -i <key file>, -p <port>, -l <user>, -J <jump host>, -4, -6, -C, -q, -v, -vv, -vvv, -T, -x, -a";

const cases: Case[] = [
  [
    "headscale host with neither docker nor vm",
    (s) => {
      s.hosts = [{ name: "cloud", publicIpv4: "203.0.113.10" }];
      s.headscale.host = "cloud";
    },
    [],
    [
      [
        "headscale.host",
        'names host "cloud", which has neither docker nor vm, so no deployment runs headscale there (only its files are rendered, and DNS records point at the host)',
        'add docker or vm to host "cloud", unless you install headscale there yourself from the rendered files',
      ],
    ],
  ],
  [
    "headscale host with docker",
    (s) => {
      s.hosts = [{ name: "cloud", publicIpv4: "203.0.113.10", docker: { daemon: "ssh://deploy@203.0.113.10" } }];
      s.headscale.host = "cloud";
    },
    [],
  ],
  [
    "derp hostname in two regions",
    (s) => region(s, { hostname: "derp.example.com" }),
    [
      [
        "derp.regions[1].nodes[0].hostname",
        '"derp.example.com" is also the hostname of derp.regions[0].nodes[0] ("fra-1"); both are reached on port 443, so one of them is unreachable',
        "give every DERP node a DNS name of its own, or run both on one host with different derpPorts",
      ],
    ],
  ],
  [
    "derp hostname in two regions on two hosts",
    (s) => {
      twoHosts(s);
      region(s, { hostname: "derp.example.com", host: "b" });
    },
    [
      [
        "derp.regions[1].nodes[0].hostname",
        '"derp.example.com" is also the hostname of derp.regions[0].nodes[0] ("fra-1"); they run on different hosts ("b" and "a"), so the name would resolve to two machines (round-robin DNS) and clients reach the wrong node at random',
        "give every DERP node a DNS name of its own, or run both on one host with different derpPorts",
      ],
    ],
  ],
  [
    "derp hostname differing in case",
    (s) => region(s, { hostname: "DERP.example.com" }),
    [
      [
        "derp.regions[1].nodes[0].hostname",
        '"DERP.example.com" is also the hostname of derp.regions[0].nodes[0] ("fra-1"); both are reached on port 443, so one of them is unreachable',
        "give every DERP node a DNS name of its own, or run both on one host with different derpPorts",
      ],
    ],
  ],
  [
    "derp hostname shared on one host on two ports",
    (s) => {
      twoHosts(s);
      region(s, { hostname: "derp.example.com", host: "a", derpPort: 8443, stunPort: 3479 });
    },
    [],
  ],
  [
    "derp ip hostname shared by two regions",
    (s) => {
      node(s, { hostname: "192.0.2.50" });
      region(s, { hostname: "192.0.2.50", certificate: { mode: "manual" }, certName: `sha256-raw:${"a".repeat(64)}` });
    },
    [],
  ],
  [
    "derp hostname is the server's host",
    (s) => node(s, { hostname: "hs.example.com" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"hs.example.com" is also the server URL\'s host; both are reached on port 443, so one of them is unreachable',
        'give the DERP node a DNS name of its own, e.g. "derp.hs.example.com", or run it on headscale\'s host on another port',
      ],
    ],
  ],
  [
    "derp hostname is the server's host on another host",
    (s) => {
      twoHosts(s);
      s.headscale.host = "b";
      node(s, { hostname: "HS.example.com" });
    },
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"HS.example.com" is also the server URL\'s host; they run on different hosts ("a" and "b"), so the name would resolve to two machines (round-robin DNS) and clients reach the wrong service at random',
        'give the DERP node a DNS name of its own, e.g. "derp.hs.example.com", or run it on headscale\'s host on another port',
      ],
    ],
  ],
  [
    "derp hostname is the server's host, same host, other port",
    (s) => {
      twoHosts(s);
      s.headscale.host = "a";
      node(s, { hostname: "hs.example.com", derpPort: 8443 });
    },
    [],
  ],
  [
    "derp ip hostname is the server's address on its port",
    (s) => {
      s.headscale.serverUrl = "https://192.0.2.10";
      node(s, { hostname: "192.0.2.10" });
    },
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"192.0.2.10" is also the server URL\'s host; both are reached on port 443, so one of them is unreachable',
        "give the DERP node another derpPort than 443, or another address",
      ],
    ],
  ],
  [
    "two hosts, one IPv4 address, both on 443",
    (s) => {
      twoHosts(s);
      s.hosts[0].publicIpv4 = "203.0.113.10";
      s.hosts[1].publicIpv4 = "203.0.113.10";
      region(s, { hostname: "derp2.example.com", host: "b" });
    },
    [
      [
        "hosts[1].publicIpv4",
        '"203.0.113.10" is also the public address of host "a" (hosts[0]), and both open tcp port 443; one address reaches one machine per port',
        "give each host its own address, or make them one host",
      ],
    ],
  ],
  [
    "two hosts, one IPv6 address spelled two ways",
    (s) => {
      twoHosts(s);
      s.hosts[0].publicIpv6 = "2001:db8::1";
      s.hosts[1].publicIpv6 = "2001:DB8:0::0:1";
      s.headscale.host = "b";
      s.headscale.listenAddr = "0.0.0.0:443";
      s.headscale.tls = { mode: "files", certPath: "/etc/headscale/c.pem", keyPath: "/etc/headscale/k.pem" };
    },
    [
      [
        "hosts[1].publicIpv6",
        '"2001:DB8:0::0:1" is also the public address of host "a" (hosts[0]), and both open tcp port 443; one address reaches one machine per port',
        "give each host its own address, or make them one host",
      ],
    ],
  ],
  [
    "two hosts, one address, no shared port",
    (s) => {
      twoHosts(s);
      s.hosts[0].publicIpv4 = "203.0.113.10";
      s.hosts[1].publicIpv4 = "203.0.113.10";
      s.headscale.host = "b";
    },
    [],
    [
      [
        "hosts[1].publicIpv4",
        '"203.0.113.10" is also the public address of host "a" (hosts[0]); that works only behind one NAT that forwards each port to the right machine',
        "give each host its own address, unless both sit behind one NAT",
      ],
    ],
  ],
  [
    "http to a DNS name",
    (s) => {
      s.headscale.serverUrl = "http://hs.example.com";
    },
    [
      [
        "headscale.serverUrl",
        '"http://hs.example.com" is plain HTTP to a public host (a DNS name, or an address outside the loopback, private, link-local, CGNAT and ULA ranges): derper\'s /verify answers and OIDC logins would cross the network in cleartext',
        'use "https://hs.example.com" with TLS terminated by headscale or by a proxy in front; keep http:// for loopback and private addresses',
      ],
    ],
  ],
  [
    "http to a public address",
    (s) => {
      s.headscale.serverUrl = "http://203.0.113.5:8080";
    },
    [
      [
        "headscale.serverUrl",
        '"http://203.0.113.5:8080" is plain HTTP to a public host (a DNS name, or an address outside the loopback, private, link-local, CGNAT and ULA ranges): derper\'s /verify answers and OIDC logins would cross the network in cleartext',
        'use "https://203.0.113.5:8080" with TLS terminated by headscale or by a proxy in front; keep http:// for loopback and private addresses',
      ],
    ],
  ],
  [
    "http to a private address",
    (s) => {
      s.headscale.serverUrl = "http://192.168.1.10:8080";
    },
    [],
  ],
  [
    "http to loopback",
    (s) => {
      s.headscale.serverUrl = "http://127.0.0.1:8080";
    },
    [],
  ],
  [
    "http to localhost",
    (s) => {
      s.headscale.serverUrl = "http://localhost:8080";
    },
    [],
  ],
  [
    "http to a CGNAT address",
    (s) => {
      s.headscale.serverUrl = "http://100.100.1.1:8080";
    },
    [],
  ],
  [
    "http to a ULA address",
    (s) => {
      s.headscale.serverUrl = "http://[fd00::10]:8080";
    },
    [],
  ],
  [
    "http to a link-local address",
    (s) => {
      s.headscale.serverUrl = "http://169.254.1.1:8080";
    },
    [],
  ],
  [
    "url port vs TLS files listener",
    (s) => {
      s.headscale.serverUrl = "https://hs.example.com:8443";
      s.headscale.tls = { mode: "files", certPath: "/etc/headscale/c.pem", keyPath: "/etc/headscale/k.pem" };
    },
    [
      [
        "headscale.serverUrl",
        '"https://hs.example.com:8443" is port 8443, but headscale terminates TLS itself (tls.mode "files") and listens on port 443 (listenAddr "0.0.0.0:443", the default); nothing the kit deploys answers on port 8443',
        'set listenAddr to "0.0.0.0:8443", or put port 443 in serverUrl; with a reverse proxy in front, set tls.mode "proxy"',
      ],
    ],
  ],
  [
    "url port vs letsencrypt listener",
    (s) => {
      s.headscale.listenAddr = "[::]:8443";
      s.headscale.tls = { mode: "letsencrypt" };
    },
    [
      [
        "headscale.serverUrl",
        '"https://hs.example.com" is port 443, but headscale terminates TLS itself (tls.mode "letsencrypt") and listens on port 8443 (listenAddr "[::]:8443"); nothing the kit deploys answers on port 443',
        'set listenAddr to "[::]:443", or put port 8443 in serverUrl; with a reverse proxy in front, set tls.mode "proxy"',
      ],
    ],
  ],
  [
    "url port equals TLS files listener",
    (s) => {
      s.headscale.serverUrl = "https://hs.example.com:8443";
      s.headscale.listenAddr = ":8443";
      s.headscale.tls = { mode: "files", certPath: "/etc/headscale/c.pem", keyPath: "/etc/headscale/k.pem" };
    },
    [],
  ],
  [
    "url port vs listener behind a proxy",
    (s) => {
      s.headscale.serverUrl = "https://hs.example.com:8443";
      s.headscale.listenAddr = "127.0.0.1:8080";
    },
    [],
  ],
  [
    "letsencrypt for an IP server url",
    (s) => {
      s.headscale.serverUrl = "https://203.0.113.10";
      s.headscale.tls = { mode: "letsencrypt" };
    },
    [
      [
        "headscale.tls.mode",
        "Let's Encrypt issues no certificate for the IP address \"203.0.113.10\" in headscale's letsencrypt mode",
        'use a DNS name in serverUrl, or tls.mode "files" with a certificate of your own',
      ],
    ],
  ],
  [
    "letsencrypt hostname not the server's",
    (s) => {
      s.headscale.tls = { mode: "letsencrypt", hostname: "headscale.example.com" };
    },
    [
      [
        "headscale.tls.hostname",
        '"headscale.example.com" is not the server URL\'s host "hs.example.com"; clients check the certificate against the URL\'s host, and headscale answers TLS only for this name',
        'remove hostname (it defaults to the server URL\'s host), or set it to "hs.example.com"',
      ],
    ],
  ],
  [
    "letsencrypt hostname differing in case",
    (s) => {
      s.headscale.tls = { mode: "letsencrypt", hostname: "HS.Example.com" };
    },
    [],
  ],
  [
    "letsencrypt hostname an IP (already refused)",
    (s) => {
      s.headscale.tls = { mode: "letsencrypt", hostname: "203.0.113.10" };
    },
    [["headscale.tls.hostname", '"203.0.113.10" is not a DNS name Let\'s Encrypt can issue for', "use the server URL's host name"]],
  ],
  [
    // User names are identifiers (model/grammar.ts): lower case only, so no two differ only in case.
    "users differing in case (refused by the identifier grammar)",
    (s) => {
      s.users = [{ name: "alice" }, { name: "Alice" }];
    },
    [["users[1].name", '"Alice" is not an identifier', 'use a lower-case letter, then lower-case letters, digits and dashes (at most 63), e.g. "hk-1"']],
  ],
  [
    "device user differing in case (refused by the identifier grammar)",
    (s) => {
      s.users = [{ name: "alice" }];
      s.devices = [{ name: "laptop", user: "Alice" }];
    },
    [["devices[0].user", '"Alice" is not an identifier', 'use a lower-case letter, then lower-case letters, digits and dashes (at most 63), e.g. "hk-1"']],
  ],
  [
    "users declared twice (already refused)",
    (s) => {
      s.users = [{ name: "alice" }, { name: "alice" }];
    },
    [["users[1].name", '"alice" is declared twice', "declare every user once"]],
  ],
  [
    "route inside the tailnet's v4 prefix",
    (s) => route(s, "100.64.1.0/24"),
    [
      [
        "devices[0].advertiseRoutes[0]",
        '"100.64.1.0/24" lies inside the tailnet\'s own prefix "100.64.0.0/10", whose addresses headscale gives to nodes',
        "advertise the network behind the device, which must lie outside 100.64.0.0/10",
      ],
    ],
  ],
  [
    "route inside the tailnet's v6 prefix",
    (s) => route(s, "fd7a:115c:a1e0:1::/64"),
    [
      [
        "devices[0].advertiseRoutes[0]",
        '"fd7a:115c:a1e0:1::/64" lies inside the tailnet\'s own prefix "fd7a:115c:a1e0::/48", whose addresses headscale gives to nodes',
        "advertise the network behind the device, which must lie outside fd7a:115c:a1e0::/48",
      ],
    ],
  ],
  [
    "route inside a custom prefix",
    (s) => {
      s.headscale.prefixes = { v4: "100.100.0.0/16" };
      route(s, "100.100.1.0/24");
    },
    [
      [
        "devices[0].advertiseRoutes[0]",
        '"100.100.1.0/24" lies inside the tailnet\'s own prefix "100.100.0.0/16", whose addresses headscale gives to nodes',
        "advertise the network behind the device, which must lie outside 100.100.0.0/16",
      ],
    ],
  ],
  [
    "route in CGNAT with the v4 prefix off",
    (s) => {
      s.headscale.prefixes = { v4: null };
      route(s, "100.64.1.0/24");
    },
    [],
  ],
  ["route covering the tailnet's prefix", (s) => route(s, "100.0.0.0/8"), []],
  [
    "route loopback v4",
    (s) => route(s, "127.0.0.0/8"),
    [
      [
        "devices[0].advertiseRoutes[0]",
        '"127.0.0.0/8" is loopback: every machine keeps those addresses for itself, so no traffic would reach the router',
        "remove it, and advertise the networks behind the device",
      ],
    ],
  ],
  [
    "route loopback v6",
    (s) => route(s, "::1/128"),
    [
      [
        "devices[0].advertiseRoutes[0]",
        '"::1/128" is loopback: every machine keeps those addresses for itself, so no traffic would reach the router',
        "remove it, and advertise the networks behind the device",
      ],
    ],
  ],
  [
    "route multicast v4",
    (s) => route(s, "239.1.0.0/16"),
    [
      [
        "devices[0].advertiseRoutes[0]",
        '"239.1.0.0/16" is multicast, which Tailscale does not route',
        "remove it, and advertise the networks behind the device",
      ],
    ],
  ],
  [
    "route multicast v6",
    (s) => route(s, "ff02::/16"),
    [["devices[0].advertiseRoutes[0]", '"ff02::/16" is multicast, which Tailscale does not route', "remove it, and advertise the networks behind the device"]],
  ],
  [
    "node prefix v4 /32",
    (s) => {
      s.headscale.prefixes = { v4: "100.64.0.1/32" };
    },
    [
      [
        "headscale.prefixes.v4",
        '"100.64.0.1/32" leaves no address for nodes: headscale keeps a prefix\'s first and last address for itself, so every node registration would fail',
        'use a prefix of /30 or shorter, e.g. "100.64.0.0/10"',
      ],
    ],
  ],
  [
    "node prefix v4 /31",
    (s) => {
      s.headscale.prefixes = { v4: "100.64.0.0/31" };
    },
    [
      [
        "headscale.prefixes.v4",
        '"100.64.0.0/31" leaves no address for nodes: headscale keeps a prefix\'s first and last address for itself, so every node registration would fail',
        'use a prefix of /30 or shorter, e.g. "100.64.0.0/10"',
      ],
    ],
  ],
  [
    "node prefix v4 /30",
    (s) => {
      s.headscale.prefixes = { v4: "100.64.0.0/30" };
    },
    [],
  ],
  [
    "node prefix v6 /128",
    (s) => {
      s.headscale.prefixes = { v6: "fd7a:115c:a1e0::1/128" };
    },
    [
      [
        "headscale.prefixes.v6",
        '"fd7a:115c:a1e0::1/128" leaves no address for nodes: headscale keeps a prefix\'s first and last address for itself, so every node registration would fail',
        'use a prefix of /126 or shorter, e.g. "fd7a:115c:a1e0::/48"',
      ],
    ],
  ],
  [
    "node prefix v6 /127 non-standard",
    (s) => {
      s.headscale.prefixes = { v6: "fd00::/127", allowNonStandard: true };
    },
    [
      [
        "headscale.prefixes.v6",
        '"fd00::/127" leaves no address for nodes: headscale keeps a prefix\'s first and last address for itself, so every node registration would fail',
        'use a prefix of /126 or shorter, e.g. "fd7a:115c:a1e0::/48"',
      ],
    ],
  ],
  [
    "node prefix v6 /126",
    (s) => {
      s.headscale.prefixes = { v6: "fd7a:115c:a1e0::/126" };
    },
    [],
  ],
  [
    "derp hostname 127.0.0.1",
    (s) => node(s, { hostname: "127.0.0.1" }),
    [],
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"127.0.0.1" is a loopback address: every client dials itself, so this works only with every client on the same machine',
        "write the public address clients reach it at, unless the whole tailnet runs on one machine",
      ],
    ],
  ],
  [
    "derp hostname 0.0.0.0",
    (s) => node(s, { hostname: "0.0.0.0" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"0.0.0.0" is the unspecified address ("any"), which no client can dial',
        "write the public address clients reach it at",
      ],
    ],
  ],
  [
    "derp hostname ::",
    (s) => node(s, { hostname: "::" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"::" is the unspecified address ("any"), which no client can dial',
        "write the public address clients reach it at",
      ],
    ],
  ],
  [
    "derp hostname ::1",
    (s) => node(s, { hostname: "::1" }),
    [],
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"::1" is a loopback address: every client dials itself, so this works only with every client on the same machine',
        "write the public address clients reach it at, unless the whole tailnet runs on one machine",
      ],
    ],
  ],
  [
    "derp hostname multicast v4",
    (s) => node(s, { hostname: "224.0.0.1" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"224.0.0.1" is a multicast address, which no TCP connection can reach',
        "write the public address clients reach it at",
      ],
    ],
  ],
  [
    "derp hostname multicast v6",
    (s) => node(s, { hostname: "ff02::1" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"ff02::1" is a multicast address, which no TCP connection can reach',
        "write the public address clients reach it at",
      ],
    ],
  ],
  [
    "derp hostname broadcast",
    (s) => node(s, { hostname: "255.255.255.255" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"255.255.255.255" is the broadcast address, which no TCP connection can reach',
        "write the public address clients reach it at",
      ],
    ],
  ],
  [
    "derp hostname IPv4-mapped",
    (s) => node(s, { hostname: "::ffff:192.0.2.1" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"::ffff:192.0.2.1" is the IPv4 address 192.0.2.1 written as IPv6 (IPv4-mapped); clients, DNS records and certificates treat the two forms differently',
        'write "192.0.2.1"',
      ],
    ],
  ],
  [
    "derp hostname IPv4-mapped in hex",
    (s) => node(s, { hostname: "::ffff:c000:201" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"::ffff:c000:201" is the IPv4 address 192.0.2.1 written as IPv6 (IPv4-mapped); clients, DNS records and certificates treat the two forms differently',
        'write "192.0.2.1"',
      ],
    ],
  ],
  [
    "derp hostname with a zone",
    (s) => node(s, { hostname: "fe80::1%eth0" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"fe80::1%eth0" carries the zone "%eth0", which names an interface of one machine; an address clients elsewhere dial has none',
        "write a global address without a zone",
      ],
    ],
  ],
  [
    "derp hostname global with a zone",
    (s) => node(s, { hostname: "2001:db8::1%eth0" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"2001:db8::1%eth0" carries the zone "%eth0", which names an interface of one machine; an address clients elsewhere dial has none',
        'write "2001:db8::1" without a zone',
      ],
    ],
  ],
  [
    "derp hostname link-local v6",
    (s) => node(s, { hostname: "fe80::1" }),
    [
      [
        "derp.regions[0].nodes[0].hostname",
        '"fe80::1" is an IPv6 link-local address, reachable only on its own link and only with a zone',
        "write the global address clients reach it at",
      ],
    ],
  ],
  ["derp hostname private v4", (s) => node(s, { hostname: "192.168.1.10" }), []],
  [
    "derp node ipv6 with a zone",
    (s) => node(s, { ipv6: "2001:db8::1%eth0" }),
    [
      [
        "derp.regions[0].nodes[0].ipv6",
        '"2001:db8::1%eth0" carries the zone "%eth0", which names an interface of one machine; an address clients elsewhere dial has none',
        'write "2001:db8::1" without a zone',
      ],
    ],
  ],
  [
    "derp node ipv4 loopback",
    (s) => node(s, { ipv4: "127.0.0.1" }),
    [],
    [
      [
        "derp.regions[0].nodes[0].ipv4",
        '"127.0.0.1" is a loopback address: every client dials itself, so this works only with every client on the same machine',
        "write the public address clients reach it at, unless the whole tailnet runs on one machine",
      ],
    ],
  ],
  [
    "host publicIpv6 IPv4-mapped",
    (s) => v6(s, { publicIpv6: "::ffff:192.0.2.1" }),
    [
      [
        "hosts[0].publicIpv6",
        '"::ffff:192.0.2.1" is the IPv4 address 192.0.2.1 written as IPv6 (IPv4-mapped); clients, DNS records and certificates treat the two forms differently',
        'write "192.0.2.1" in publicIpv4',
      ],
    ],
  ],
  [
    "host publicIpv4 unspecified",
    (s) => v6(s, { publicIpv4: "0.0.0.0" }),
    [["hosts[0].publicIpv4", '"0.0.0.0" is the unspecified address ("any"), which no client can dial', "write the public address clients reach it at"]],
  ],
  [
    "host publicIpv6 with a zone",
    (s) => v6(s, { publicIpv6: "fe80::1%eth0" }),
    [
      [
        "hosts[0].publicIpv6",
        '"fe80::1%eth0" carries the zone "%eth0", which names an interface of one machine; an address clients elsewhere dial has none',
        "write a global address without a zone",
      ],
    ],
  ],
  [
    "embedded derp ipv6 IPv4-mapped",
    (s) => {
      s.headscale.embeddedDerp = { enabled: true, ipv6: "::ffff:203.0.113.1" };
    },
    [
      [
        "headscale.embeddedDerp.ipv6",
        '"::ffff:203.0.113.1" is the IPv4 address 203.0.113.1 written as IPv6 (IPv4-mapped); clients, DNS records and certificates treat the two forms differently',
        'write "203.0.113.1" in ipv4',
      ],
    ],
  ],
  [
    "oidc client_secret in extra params",
    (s) => {
      s.headscale.oidc = {
        issuer: "https://login.example.com",
        clientId: "hs",
        clientSecretPath: "/etc/headscale/oidc",
        extraParams: { client_secret: "hunter2" },
      };
    },
    [
      [
        "headscale.oidc.extraParams.client_secret",
        '"client_secret" names a secret, and extra parameters are written in plain text into config.yaml (and a VM\'s user-data)',
        "remove it, and put the client secret in the file clientSecretPath names (mode 0600 on the host)",
      ],
    ],
  ],
  [
    "oidc secret-named extra params",
    (s) => {
      s.headscale.oidc = {
        issuer: "https://login.example.com",
        clientId: "hs",
        clientSecretPath: "/etc/headscale/oidc",
        extraParams: { password: "x", "refresh-token": "y", apiKey: "z", domain_hint: "example.com", prompt: "login" },
      };
    },
    [
      [
        "headscale.oidc.extraParams.password",
        '"password" names a secret, and extra parameters are written in plain text into config.yaml (and a VM\'s user-data)',
        "remove it: the spec holds no secrets (the client secret goes in the file clientSecretPath names)",
      ],
      [
        "headscale.oidc.extraParams.refresh-token",
        '"refresh-token" names a secret, and extra parameters are written in plain text into config.yaml (and a VM\'s user-data)',
        "remove it: the spec holds no secrets (the client secret goes in the file clientSecretPath names)",
      ],
      [
        "headscale.oidc.extraParams.apiKey",
        '"apiKey" names a secret, and extra parameters are written in plain text into config.yaml (and a VM\'s user-data)',
        "remove it: the spec holds no secrets (the client secret goes in the file clientSecretPath names)",
      ],
    ],
  ],
  [
    "sshOpts allowed",
    (s) =>
      sshOpts(s, [
        "-o",
        "StrictHostKeyChecking=yes",
        "-oUserKnownHostsFile=/etc/ssh/known_hosts",
        "-i",
        "~/.ssh/id_ed25519",
        "-p",
        "2222",
        "-l",
        "deploy",
        "-J",
        "admin@bastion.example.com:22",
        "-o",
        "ProxyJump=bastion.example.com",
        "-4",
        "-C",
      ]),
    [],
  ],
  [
    "sshOpts ProxyCommand",
    (s) => sshOpts(s, ["-o", "ProxyCommand=/tmp/x"]),
    [
      [
        "hosts[0].docker.sshOpts[1]",
        '"ProxyCommand=/tmp/x" sets ssh option "ProxyCommand", which is not on the kit\'s allow-list (options that run commands, load code, read other configuration or open forwards are refused)',
        OPTION_FIX,
      ],
    ],
  ],
  [
    "sshOpts ProxyCommand with spaces",
    (s) => sshOpts(s, ["-o", "ProxyCommand=nc %h %p"]),
    [
      [
        "hosts[0].docker.sshOpts[1]",
        '"ProxyCommand=nc %h %p" holds whitespace or a control character; ssh takes each item as one argument, so it could hide a second option',
        'put each flag and each value in an item of its own, without spaces, e.g. ["-o", "StrictHostKeyChecking=yes"]',
      ],
    ],
  ],
  [
    "sshOpts LocalCommand joined",
    (s) => sshOpts(s, ["-oLocalCommand=id", "-o", "permitlocalcommand=yes", "-o", "KnownHostsCommand=/bin/true", "-o", "Match=exec"]),
    [
      [
        "hosts[0].docker.sshOpts[0]",
        '"LocalCommand=id" sets ssh option "LocalCommand", which is not on the kit\'s allow-list (options that run commands, load code, read other configuration or open forwards are refused)',
        OPTION_FIX,
      ],
      [
        "hosts[0].docker.sshOpts[2]",
        '"permitlocalcommand=yes" sets ssh option "permitlocalcommand", which is not on the kit\'s allow-list (options that run commands, load code, read other configuration or open forwards are refused)',
        OPTION_FIX,
      ],
      [
        "hosts[0].docker.sshOpts[4]",
        '"KnownHostsCommand=/bin/true" sets ssh option "KnownHostsCommand", which is not on the kit\'s allow-list (options that run commands, load code, read other configuration or open forwards are refused)',
        OPTION_FIX,
      ],
      [
        "hosts[0].docker.sshOpts[6]",
        '"Match=exec" sets ssh option "Match", which is not on the kit\'s allow-list (options that run commands, load code, read other configuration or open forwards are refused)',
        OPTION_FIX,
      ],
    ],
  ],
  [
    "sshOpts -o smuggled in one item",
    (s) => sshOpts(s, ["-o StrictHostKeyChecking=no -o ProxyCommand=x"]),
    [
      [
        "hosts[0].docker.sshOpts[0]",
        '"-o StrictHostKeyChecking=no -o ProxyCommand=x" holds whitespace or a control character; ssh takes each item as one argument, so it could hide a second option',
        'put each flag and each value in an item of its own, without spaces, e.g. ["-o", "StrictHostKeyChecking=yes"]',
      ],
    ],
  ],
  [
    "sshOpts config file",
    (s) => sshOpts(s, ["-F", "/tmp/evil_config", "-4"]),
    [["hosts[0].docker.sshOpts[0]", '"-F" is not an ssh flag the kit passes on', FLAGS_FIX]],
  ],
  [
    "sshOpts -o without value",
    (s) => sshOpts(s, ["-4", "-o"]),
    [
      [
        "hosts[0].docker.sshOpts[1]",
        '"-o" is the last item and lacks its Key=Value',
        'follow it with its Key=Value as the next item, e.g. ["-o", "StrictHostKeyChecking=yes"]',
      ],
    ],
  ],
  [
    "sshOpts shell in a value",
    (s) => sshOpts(s, ["-o", "IdentityFile=$(id)"]),
    [
      [
        "hosts[0].docker.sshOpts[1]",
        '"IdentityFile=$(id)" gives IdentityFile a value with characters ssh options never need',
        "write the value with letters, digits and . , : @ / ~ % + = * [ ] - _ only",
      ],
    ],
  ],
  [
    "sshOpts jump host as an option",
    (s) => sshOpts(s, ["-o", "ProxyJump=-oProxyCommand=x"]),
    [
      [
        "hosts[0].docker.sshOpts[1]",
        '"ProxyJump=-oProxyCommand=x" gives ProxyJump a value that is not a list of jump hosts',
        'write [user@]host[:port], several separated by commas, not starting with "-"',
      ],
    ],
  ],
  [
    "sshOpts key file as an option",
    (s) => sshOpts(s, ["-i", "-oProxyCommand=x"]),
    [["hosts[0].docker.sshOpts[1]", '"-oProxyCommand=x" is not a key file for -i', "give -i a plain key file"]],
  ],
  ["sshOpts bad port", (s) => sshOpts(s, ["-p", "0"]), [["hosts[0].docker.sshOpts[1]", '"0" is not a port for -p', "give -p a plain port"]]],
  [
    "sshOpts -o not key=value",
    (s) => sshOpts(s, ["-o", "=yes"]),
    [["hosts[0].docker.sshOpts[1]", '"=yes" is not a Key=Value for -o', 'write it as Key=Value, e.g. "StrictHostKeyChecking=yes"']],
  ],
  ["sshOpts breaking flag", (s) => sshOpts(s, ["-N"]), [["hosts[0].docker.sshOpts[0]", '"-N" is not an ssh flag the kit passes on', FLAGS_FIX]]],
];

/** The warnings validation's rules give: all but those the resolved model derives (model/warnings.ts: backups, certificate files, DNS records). */
function ruleWarnings(result: ValidationResult): readonly ModelWarning[] {
  if (!result.ok) return result.warnings;
  const derived = new Set(deriveWarnings(result.resolved).map((w) => `${w.path}\n${w.message}`));
  return result.warnings.filter((w) => !derived.has(`${w.path}\n${w.message}`));
}

/** Every spec the project ships or tests with: none of these rules may refuse them. */
function bundledSpecs(): [string, TailnetSpec][] {
  const examples = readdirSync(new URL("../../examples", import.meta.url), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => {
      const file = join(d.parentPath, d.name, "tailnet.yaml");
      try {
        return [[`examples/${d.name}/tailnet.yaml`, parse(readFileSync(file, "utf8")) as TailnetSpec] as [string, TailnetSpec]];
      } catch {
        return []; // an example written as code only (stack.ts); the construct tests build those
      }
    });
  return [
    ...examples,
    ["exampleSpec", exampleSpec()],
    ["minimalSpec", minimalSpec()],
    ["largeSpec", largeSpec(20, 5)],
    ...["0.27.1", "0.28.0", "0.29.3"].flatMap((v) =>
      (["sqlite", "postgres"] as const).map((db) => [`maximalSpec ${v} ${db}`, maximalSpec(v, db)] as [string, TailnetSpec]),
    ),
    ["vmSpec", vmSpec()],
    ["vmProxySpec", vmProxySpec()],
    ["vmDnsSpec", vmDnsSpec()],
    ["smallLabSpec", smallLabSpec()],
    ["smallLabSpec (everything)", smallLabSpec({ nodes: 2, router: true, taggedDevice: true, pinnedRegion: true, verifyClients: false })],
  ];
}

describe("validate: deployments that headscale and derper accept but that break", () => {
  it.each(cases)("%s", (_name, mutate, issues, warnings = []) => {
    const spec = minimalSpec();
    mutate(spec);
    const result = validate(spec);
    expect(result.issues.map((i) => [i.path, i.message, i.fix])).toEqual(issues);
    expect(ruleWarnings(result).map((w) => [w.path, w.message, w.fix])).toEqual(warnings);
    expect(result.ok).toBe(issues.length === 0);
  });

  it("gives its warnings the subject a construct annotates them on", () => {
    const spec: any = minimalSpec();
    twoHosts(spec);
    spec.hosts[0].publicIpv4 = "203.0.113.10";
    spec.hosts[1].publicIpv4 = "203.0.113.10";
    spec.hosts.push({ name: "cloud", firewall: { adminCidrs: ["::/1", "8000::/1"] } });
    spec.headscale.host = "cloud";
    const result = validate(spec);
    expect(ruleWarnings(result).map((w) => [w.path, w.subject])).toEqual([
      ["headscale.host", { kind: "headscale" }],
      ["hosts[2].firewall.adminCidrs", { kind: "host", host: "cloud" }],
      ["hosts[1].publicIpv4", { kind: "host", host: "b" }],
    ]);
  });

  it("accepts every bundled example and support spec, with only the warnings they had before", () => {
    const specs = bundledSpecs();
    expect(specs.map(([name]) => name)).toContain("examples/home-lab/tailnet.yaml");
    for (const [name, spec] of specs) {
      const result = validate(spec);
      expect([name, result.issues]).toEqual([name, []]);
      // maximalSpec keeps Tailscale's public regions, smallLabSpec turns client verification off: both warned about before these rules.
      // maximalSpec of an older headscale pins a release with known advisories (model/advisories.ts).
      expect([
        name,
        ruleWarnings(result)
          .map((w) => w.path)
          .filter((p) => p !== "derp.tailscaleRegions" && p !== "derp.derper.verifyClients" && p !== "headscale.version"),
      ]).toEqual([name, []]);
    }
  });
});
