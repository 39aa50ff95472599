/**
 * Every validation rule, with a bad input and the exact message it produces (path and message;
 * every issue also carries a fix, checked to be non-empty). Inputs start from a minimal valid
 * spec and change one thing.
 */
import { describe, expect, it } from "vitest";
import { formatIssues, loadTailnet, resolve, TailnetSpecError, validate } from "../../model/index.js";
import { exampleSpec, minimalSpec, scaleSpec } from "../support/specs.js";

type Case = [name: string, mutate: (spec: any) => void, expected: [path: string, message: string][]];

/** A dynamic host `home` that runs the minimal spec's DERP node, with `ddns`. */
const home = (s: any, ddns: object) => {
  s.hosts = [{ name: "home", dynamicIp: true, ddns }];
  s.derp.regions[0].nodes[0].host = "home";
};
const zone = (s: any) => {
  s.dns = { provider: "cloudflare", zoneName: "example.com" };
};
const rfc2136 = (over: object = {}) => ({ type: "rfc2136", nameserver: "192.0.2.53", zone: "example.com", tsigKeyName: "home-ddns", ...over });

/** A spec with users, a tagged subnet router and a small policy, for the policy cases. */
function base(s: any): void {
  s.devices = [{ name: "router", user: "home", advertiseRoutes: ["192.168.100.0/24"], tags: ["tag:router"] }];
  s.users = [{ name: "alice" }];
  s.policy = { groups: { "group:admins": ["alice"] }, acls: [{ src: ["group:admins"], dst: ["*:*"] }] };
}

const cases: Case[] = [
  [
    "unsupported version",
    (s: any) => {
      s.headscale.version = "0.26.1";
    },
    [["headscale.version", 'headscale "0.26.1" is not supported']],
  ],
  [
    "version with v accepted",
    (s: any) => {
      s.headscale.version = "v0.28.0";
    },
    [],
  ],
  [
    "server url no scheme",
    (s: any) => {
      s.headscale.serverUrl = "hs.example.com";
    },
    [["headscale.serverUrl", '"hs.example.com" is not an http or https URL']],
  ],
  [
    "server url path",
    (s: any) => {
      s.headscale.serverUrl = "https://hs.example.com/headscale";
    },
    [["headscale.serverUrl", '"https://hs.example.com/headscale" has a path, query or fragment; Tailscale clients talk to the URL\'s root']],
  ],
  [
    "server url http with letsencrypt",
    (s: any) => {
      s.headscale.serverUrl = "http://hs.example.com";
      s.headscale.tls = { mode: "letsencrypt" };
    },
    [["headscale.serverUrl", 'uses http:// while headscale terminates TLS itself (tls.mode "letsencrypt")']],
  ],
  [
    "base equals host",
    (s: any) => {
      s.headscale.dns.baseDomain = "hs.example.com";
    },
    [
      [
        "headscale.dns.baseDomain",
        "\"hs.example.com\" equals the server URL's host; headscale refuses to start, since MagicDNS would capture the coordination server's name",
      ],
    ],
  ],
  [
    "base parent",
    (s: any) => {
      s.headscale.dns.baseDomain = "example.com";
    },
    [
      [
        "headscale.dns.baseDomain",
        '"example.com" is a parent of the server URL\'s host "hs.example.com" (whatever the port); headscale refuses to start, since MagicDNS would capture the coordination server\'s name',
      ],
    ],
  ],
  [
    "base parent with port",
    (s: any) => {
      s.headscale.serverUrl = "https://hs.example.com:443";
      s.headscale.dns.baseDomain = "example.com";
    },
    [
      [
        "headscale.dns.baseDomain",
        '"example.com" is a parent of the server URL\'s host "hs.example.com" (whatever the port); headscale refuses to start, since MagicDNS would capture the coordination server\'s name',
      ],
    ],
  ],
  [
    "base not dns",
    (s: any) => {
      s.headscale.dns.baseDomain = "tail.example.net.";
    },
    [["headscale.dns.baseDomain", '"tail.example.net." is not a DNS name']],
  ],
  [
    "magic without base",
    (s: any) => {
      delete s.headscale.dns.baseDomain;
    },
    [["headscale.dns.baseDomain", "is required while MagicDNS is on (headscale refuses to start without it)"]],
  ],
  [
    "override without global",
    (s: any) => {
      s.headscale.dns.nameservers = { global: [] };
    },
    [["headscale.dns.nameservers.global", "is empty while overrideLocalDns is on (headscale refuses to start)"]],
  ],
  [
    "bad global ns",
    (s: any) => {
      s.headscale.dns.nameservers = { global: ["dns.google"] };
    },
    [["headscale.dns.nameservers.global[0]", '"dns.google" is not an IP address or an https URL']],
  ],
  [
    "split bad",
    (s: any) => {
      s.headscale.dns.nameservers = { split: { "home.arpa": ["router.lan"] } };
    },
    [['headscale.dns.nameservers.split["home.arpa"][0]', '"router.lan" is not an IP address']],
  ],
  [
    "extra records both",
    (s: any) => {
      s.headscale.dns.extraRecords = [{ name: "a.tail.example.net", type: "A", value: "100.64.0.5" }];
      s.headscale.dns.extraRecordsPath = "/etc/headscale/extra.json";
    },
    [["headscale.dns.extraRecordsPath", "is set together with extraRecords (headscale refuses to start with both)"]],
  ],
  [
    "extra record wrong family",
    (s: any) => {
      s.headscale.dns.extraRecords = [{ name: "a.tail.example.net", type: "AAAA", value: "100.64.0.5" }];
    },
    [["headscale.dns.extraRecords[0].value", '"100.64.0.5" is not an IPv6 address, as an AAAA record needs']],
  ],
  [
    "ephemeral too low",
    (s: any) => {
      s.headscale.ephemeralInactivityTimeout = "60s";
    },
    [["headscale.ephemeralInactivityTimeout", '"60s" is 65s or less (headscale refuses to start)']],
  ],
  [
    "ephemeral 1d",
    (s: any) => {
      s.headscale.ephemeralInactivityTimeout = "1d";
    },
    [["headscale.ephemeralInactivityTimeout", '"1d" is not a Go duration']],
  ],
  [
    "derp update freq bad",
    (s: any) => {
      s.headscale.derpUpdateFrequency = "1d";
    },
    [["headscale.derpUpdateFrequency", '"1d" is not a Go duration']],
  ],
  [
    "node expiry old version",
    (s: any) => {
      s.headscale.version = "0.28.0";
      s.headscale.nodeExpiry = "180d";
    },
    [
      [
        "headscale.nodeExpiry",
        "headscale 0.28.0 has no default node expiry (node.expiry exists from 0.29.0; before, only OIDC logins expire, through oidc.expiry)",
      ],
    ],
  ],
  [
    "node expiry bad",
    (s: any) => {
      s.headscale.nodeExpiry = "soon";
    },
    [["headscale.nodeExpiry", '"soon" is not a duration']],
  ],
  [
    "prefixes none",
    (s: any) => {
      s.headscale.prefixes = { v4: null, v6: null };
    },
    [["headscale.prefixes", "sets neither v4 nor v6 (headscale refuses to start without a prefix)"]],
  ],
  [
    "prefix outside",
    (s: any) => {
      s.headscale.prefixes = { v4: "10.0.0.0/8" };
    },
    [
      [
        "headscale.prefixes.v4",
        '"10.0.0.0/8" is outside 100.64.0.0/10; headscale starts but does not support it, and Tailscale clients treat only that range as tailnet addresses',
      ],
    ],
  ],
  [
    "prefix outside allowed",
    (s: any) => {
      s.headscale.prefixes = { v4: "10.0.0.0/8", allowNonStandard: true };
    },
    [],
  ],
  [
    "prefix family",
    (s: any) => {
      s.headscale.prefixes = { v6: "100.64.0.0/10" };
    },
    [["headscale.prefixes.v6", '"100.64.0.0/10" is not an IPv6 prefix']],
  ],
  [
    "allocation enum",
    (s: any) => {
      s.headscale.prefixes = { allocation: "randm" };
    },
    [["headscale.prefixes.allocation", '"randm" is not one of "sequential", "random"']],
  ],
  [
    "trusted proxies old",
    (s: any) => {
      s.headscale.version = "0.28.0";
      s.headscale.trustedProxies = ["10.0.0.1/32"];
    },
    [["headscale.trustedProxies", "headscale 0.28.0 has no trusted_proxies (it exists from 0.29.0)"]],
  ],
  [
    "trusted proxies zero",
    (s: any) => {
      s.headscale.trustedProxies = ["0.0.0.0/0"];
    },
    [["headscale.trustedProxies[0]", '"0.0.0.0/0" trusts every address (headscale refuses /0)']],
  ],
  [
    "trusted proxies bad",
    (s: any) => {
      s.headscale.trustedProxies = ["10.0.0.1"];
    },
    [["headscale.trustedProxies[0]", '"10.0.0.1" is not a CIDR prefix']],
  ],
  [
    "taildrop 0.27",
    (s: any) => {
      s.headscale.version = "0.27.1";
      s.headscale.taildrop = false;
    },
    [["headscale.taildrop", "headscale 0.27.1 has no taildrop.enabled (it exists from 0.28.0)"]],
  ],
  [
    "metrics empty 0.27",
    (s: any) => {
      s.headscale.version = "0.27.1";
      s.headscale.metricsListenAddr = "";
    },
    [["headscale.metricsListenAddr", "headscale 0.27.1 cannot turn the metrics listener off (an empty address does so from 0.28.0)"]],
  ],
  [
    "listen bad",
    (s: any) => {
      s.headscale.listenAddr = "0.0.0.0:99999";
    },
    [["headscale.listenAddr", '"0.0.0.0:99999" is not a listen address']],
  ],
  [
    "tls alpn no 443",
    (s: any) => {
      s.headscale.tls = { mode: "letsencrypt", challenge: "TLS-ALPN-01" };
      s.headscale.listenAddr = "0.0.0.0:8443";
    },
    [["headscale.tls.challenge", 'TLS-ALPN-01 needs headscale itself listening on 443, but listenAddr is "0.0.0.0:8443"']],
  ],
  [
    "tls files relative",
    (s: any) => {
      s.headscale.tls = { mode: "files", certPath: "cert.pem", keyPath: "/etc/k.pem" };
    },
    [["headscale.tls.certPath", '"cert.pem" is not an absolute path']],
  ],
  [
    "oidc issuer",
    (s: any) => {
      s.headscale.oidc = { issuer: "http://login.example.com", clientId: "hs", clientSecretPath: "/run/secret" };
    },
    [["headscale.oidc.issuer", '"http://login.example.com" is not an https URL']],
  ],
  [
    "oidc email 0.27",
    (s: any) => {
      s.headscale.version = "0.27.1";
      s.headscale.oidc = { issuer: "https://login.example.com", clientId: "hs", clientSecretPath: "/run/secret", emailVerifiedRequired: true };
    },
    [["headscale.oidc.emailVerifiedRequired", "headscale 0.27.1 has no oidc.email_verified_required (it exists from 0.28.0)"]],
  ],
  [
    "oidc clientSecret",
    (s: any) => {
      s.headscale.oidc = { issuer: "https://login.example.com", clientId: "hs", clientSecret: "hunter2" };
    },
    [
      [
        "headscale.oidc.clientSecret",
        'unknown key "clientSecret" (allowed here: issuer, clientId, clientSecretPath, scope, extraParams, allowedDomains, allowedUsers, allowedGroups, onlyStartIfAvailable, emailVerifiedRequired, useExpiryFromToken, pkce)',
      ],
      ["headscale.oidc.clientSecretPath", "is required"],
    ],
  ],
  [
    "postgres password",
    (s: any) => {
      s.headscale.database = { type: "postgres", host: "db", name: "hs", user: "hs", password: "x" };
    },
    [["headscale.database.password", 'unknown key "password" (allowed here: type, host, port, name, user, ssl)']],
  ],
  [
    "postgres port",
    (s: any) => {
      s.headscale.database = { type: "postgres", host: "db", name: "hs", user: "hs", port: 70000 };
    },
    [["headscale.database.port", "70000 is not a port"]],
  ],
  [
    "embedded http",
    (s: any) => {
      s.headscale.serverUrl = "http://10.0.0.5:8080";
      s.headscale.embeddedDerp = { enabled: true };
    },
    [["headscale.embeddedDerp.enabled", "the embedded DERP needs an https server URL (clients reach it at https://<server>/derp)"]],
  ],
  [
    "embedded region id",
    (s: any) => {
      s.headscale.embeddedDerp = { enabled: true, regionId: 42 };
    },
    [["headscale.embeddedDerp.regionId", "42 is outside 900-999, the range reserved for self-hosted DERP"]],
  ],
  [
    "embedded clash",
    (s: any) => {
      s.headscale.embeddedDerp = { enabled: true, regionId: 900 };
    },
    [["derp.regions[0].id", "900 is also the embedded DERP's region id; headscale would replace this region with the embedded one"]],
  ],
  [
    "embedded no auto no regions",
    (s: any) => {
      s.headscale.embeddedDerp = { enabled: true, automaticallyAddRegion: false };
      delete s.derp;
    },
    [["headscale.embeddedDerp.automaticallyAddRegion", "is false while no DERP map file is rendered (headscale refuses to start)"]],
  ],
  [
    "empty map",
    (s: any) => {
      s.derp.regions = [];
    },
    [
      [
        "derp.regions",
        "no DERP region is left (no self-hosted region, Tailscale's public regions dropped, embedded DERP off); headscale refuses to start with an empty DERP map",
      ],
    ],
  ],
  [
    "no derp",
    (s: any) => {
      delete s.derp;
    },
    [
      [
        "derp.regions",
        "no DERP region is left (no self-hosted region, Tailscale's public regions dropped, embedded DERP off); headscale refuses to start with an empty DERP map",
      ],
    ],
  ],
  [
    "policy path relative",
    (s: any) => {
      s.headscale.policy = { path: "policy.hujson" };
    },
    [["headscale.policy.path", '"policy.hujson" is not an absolute path']],
  ],
  [
    "region id range",
    (s: any) => {
      s.derp.regions[0].id = 1000;
    },
    [["derp.regions[0].id", "1000 is outside 900-999, the range reserved for self-hosted DERP regions"]],
  ],
  [
    "region dup id",
    (s: any) => {
      s.derp.regions.push({ id: 900, code: "ams", name: "Amsterdam", nodes: [{ name: "ams-1", hostname: "derp2.example.com" }] });
    },
    [["derp.regions[1].id", "900 is used by another region too"]],
  ],
  [
    "region dup code",
    (s: any) => {
      s.derp.regions.push({ id: 901, code: "fra", name: "Frankfurt 2", nodes: [{ name: "fra-2", hostname: "derp2.example.com" }] });
    },
    [["derp.regions[1].code", '"fra" is used by another region too']],
  ],
  [
    "node dup name",
    (s: any) => {
      s.derp.regions.push({ id: 901, code: "ams", name: "Amsterdam", nodes: [{ name: "fra-1", hostname: "derp2.example.com" }] });
    },
    [["derp.regions[1].nodes[0].name", '"fra-1" is also the name of derp.regions[0].nodes[0]; node names must be unique across the whole map']],
  ],
  [
    "region code bad",
    (s: any) => {
      s.derp.regions[0].code = "Frankfurt Main";
    },
    [["derp.regions[0].code", '"Frankfurt Main" is not an identifier']],
  ],
  [
    "region no nodes",
    (s: any) => {
      s.derp.regions[0].nodes = [];
    },
    [["derp.regions[0].nodes", "is empty"]],
  ],
  [
    "region stun only",
    (s: any) => {
      s.derp.regions[0].nodes[0].stunOnly = true;
    },
    [["derp.regions[0].nodes", "has only STUN-only nodes, so nothing relays traffic in this region"]],
  ],
  [
    "hostname scheme",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "https://derp.example.com";
    },
    [["derp.regions[0].nodes[0].hostname", '"https://derp.example.com" is not a host name or IP address']],
  ],
  [
    "hostname port",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "derp.example.com:8443";
    },
    [["derp.regions[0].nodes[0].hostname", '"derp.example.com:8443" is not a host name or IP address']],
  ],
  [
    "hostname bad",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "derp_1";
    },
    [["derp.regions[0].nodes[0].hostname", '"derp_1" is not a host name or IP address']],
  ],
  [
    "hostname ip defaults to a kit-issued pinned certificate",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "192.0.2.10";
    },
    [],
  ],
  [
    "hostname ip manual without pin",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "192.0.2.10";
      s.derp.regions[0].nodes[0].certificate = { mode: "manual" };
    },
    [["derp.regions[0].nodes[0].hostname", '"192.0.2.10" is an IP address, so no public CA certificate matches it and clients would refuse the node']],
  ],
  [
    "self-signed with certName",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "self-signed" };
      s.derp.regions[0].nodes[0].certName = `sha256-raw:${"a".repeat(64)}`;
    },
    [["derp.regions[0].nodes[0].certName", "is set while the kit issues the node's self-signed certificate; the pin is computed from that certificate"]],
  ],
  [
    "self-signed validity",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "self-signed", validityDays: 10 };
    },
    [["derp.regions[0].nodes[0].certificate.validityDays", "10 is outside 31-3650 days"]],
  ],
  [
    "hostname ip insecure",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "192.0.2.10";
      s.derp.regions[0].nodes[0].insecureForTests = true;
    },
    [],
  ],
  [
    "certname bad",
    (s: any) => {
      s.derp.regions[0].nodes[0].certName = "sha256-raw:ABC";
    },
    [["derp.regions[0].nodes[0].certName", '"sha256-raw:ABC" is neither "sha256-raw:" followed by 64 lower-case hex digits nor a DNS name']],
  ],
  [
    "derp port",
    (s: any) => {
      s.derp.regions[0].nodes[0].derpPort = 0;
    },
    [["derp.regions[0].nodes[0].derpPort", "0 is not a port"]],
  ],
  [
    "stun port",
    (s: any) => {
      s.derp.regions[0].nodes[0].stunPort = 0;
    },
    [["derp.regions[0].nodes[0].stunPort", "0 is not a port"]],
  ],
  [
    "stun port -1 ok",
    (s: any) => {
      s.derp.regions[0].nodes[0].stunPort = -1;
    },
    [],
  ],
  [
    "stunonly stun -1",
    (s: any) => {
      s.derp.regions[0].nodes.push({ name: "fra-s", hostname: "stun.example.com", stunOnly: true, stunPort: -1 });
    },
    [["derp.regions[0].nodes[1].stunPort", "is -1 on a STUN-only node, which then does nothing"]],
  ],
  [
    "node ipv4 bad",
    (s: any) => {
      s.derp.regions[0].nodes[0].ipv4 = "2001:db8::1";
    },
    [["derp.regions[0].nodes[0].ipv4", '"2001:db8::1" is not an IPv4 address']],
  ],
  [
    "node ipv4 token",
    (s: any) => {
      s.derp.regions[0].nodes[0].ipv4 = "${TfToken[TOKEN.3]}";
    },
    [],
  ],
  [
    "node ipv6 none",
    (s: any) => {
      s.derp.regions[0].nodes[0].ipv6 = "none";
    },
    [],
  ],
  [
    "node host missing",
    (s: any) => {
      s.derp.regions[0].nodes[0].host = "fra";
    },
    [["derp.regions[0].nodes[0].host", 'names host "fra", which is not in hosts']],
  ],
  [
    "headscale host missing",
    (s: any) => {
      s.hosts = [{ name: "cloud" }];
      s.headscale.host = "clod";
    },
    [["headscale.host", 'names host "clod", which is not in hosts']],
  ],
  [
    "host name bad",
    (s: any) => {
      s.hosts = [{ name: "Cloud_1" }];
    },
    [["hosts[0].name", '"Cloud_1" is not an identifier']],
  ],
  [
    "host dup",
    (s: any) => {
      s.hosts = [{ name: "a" }, { name: "a" }];
    },
    [["hosts[1].name", '"a" is used by another host too']],
  ],
  [
    "host ip bad",
    (s: any) => {
      s.hosts = [{ name: "a", publicIpv4: "300.1.1.1" }];
    },
    [["hosts[0].publicIpv4", '"300.1.1.1" is not an IPv4 address']],
  ],
  [
    "keepExcept empty",
    (s: any) => {
      s.derp.tailscaleRegions = { keepExcept: [] };
    },
    [["derp.tailscaleRegions.keepExcept", "is empty"]],
  ],
  [
    "keepExcept bad",
    (s: any) => {
      s.derp.tailscaleRegions = { keepExcept: [0] };
    },
    [["derp.tailscaleRegions.keepExcept[0]", "0 is not a region id"]],
  ],
  [
    "tailscaleRegions typo",
    (s: any) => {
      s.derp.tailscaleRegions = "dropp";
    },
    [["derp.tailscaleRegions", '"dropp" does not fit any allowed form']],
  ],
  [
    "device route",
    (s: any) => {
      s.devices = [{ name: "r", advertiseRoutes: ["192.168.100.1/24"] }];
    },
    [["devices[0].advertiseRoutes[0]", '"192.168.100.1/24" has host bits set; Tailscale refuses such routes']],
  ],
  [
    "device route default",
    (s: any) => {
      s.devices = [{ name: "r", advertiseRoutes: ["0.0.0.0/0"] }];
    },
    [["devices[0].advertiseRoutes[0]", '"0.0.0.0/0" is a default route']],
  ],
  [
    "device route bad",
    (s: any) => {
      s.devices = [{ name: "r", advertiseRoutes: ["192.168.100.0"] }];
    },
    [["devices[0].advertiseRoutes[0]", '"192.168.100.0" is not a CIDR prefix']],
  ],
  [
    "device tag",
    (s: any) => {
      s.devices = [{ name: "r", tags: ["router"] }];
    },
    [["devices[0].tags[0]", '"router" is not a tag']],
  ],
  [
    "device dup",
    (s: any) => {
      s.devices = [{ name: "r" }, { name: "r" }];
    },
    [["devices[1].name", '"r" is used by another device too']],
  ],
  [
    "device name",
    (s: any) => {
      s.devices = [{ name: "Home Router" }];
    },
    [["devices[0].name", '"Home Router" is not an identifier']],
  ],
  [
    "device user",
    (s: any) => {
      s.devices = [{ name: "r", user: "a b" }];
    },
    [["devices[0].user", '"a b" is not an identifier']],
  ],
  [
    "tailnet name",
    (s: any) => {
      s.name = "Home Lab";
    },
    [["name", '"Home Lab" is not an identifier']],
  ],
  [
    "unknown top key",
    (s: any) => {
      s.hsot = [];
    },
    [["hsot", 'unknown key "hsot" (allowed here: name, headscale, derp, hosts, devices, dns, users, policy)']],
  ],
  [
    "unknown snake",
    (s: any) => {
      s.headscale.server_url = "x";
    },
    [
      [
        "headscale.server_url",
        'unknown key "server_url" (allowed here: version, upgradeFrom, rollbackFrom, serverUrl, host, listenAddr, metricsListenAddr, grpcListenAddr, grpcAllowInsecure, trustedProxies, prefixes, database, dns, tls, oidc, log, policy, embeddedDerp, ephemeralInactivityTimeout, nodeExpiry, derpUpdateFrequency, taildrop, disableCheckUpdates, backup)',
      ],
    ],
  ],
  [
    "dns_config",
    (s: any) => {
      s.headscale.dns_config = {};
    },
    [
      [
        "headscale.dns_config",
        'unknown key "dns_config" (allowed here: version, upgradeFrom, rollbackFrom, serverUrl, host, listenAddr, metricsListenAddr, grpcListenAddr, grpcAllowInsecure, trustedProxies, prefixes, database, dns, tls, oidc, log, policy, embeddedDerp, ephemeralInactivityTimeout, nodeExpiry, derpUpdateFrequency, taildrop, disableCheckUpdates, backup)',
      ],
    ],
  ],
  [
    "randomize",
    (s: any) => {
      s.headscale.randomize_client_port = true;
    },
    [
      [
        "headscale.randomize_client_port",
        'unknown key "randomize_client_port" (allowed here: version, upgradeFrom, rollbackFrom, serverUrl, host, listenAddr, metricsListenAddr, grpcListenAddr, grpcAllowInsecure, trustedProxies, prefixes, database, dns, tls, oidc, log, policy, embeddedDerp, ephemeralInactivityTimeout, nodeExpiry, derpUpdateFrequency, taildrop, disableCheckUpdates, backup)',
      ],
    ],
  ],
  [
    "missing serverUrl",
    (s: any) => {
      delete s.headscale.serverUrl;
    },
    [["headscale.serverUrl", "is required"]],
  ],
  [
    "missing headscale",
    (s: any) => {
      delete s.headscale;
    },
    [["headscale", "is required"]],
  ],
  [
    "type wrong",
    (s: any) => {
      s.derp.regions[0].id = "900";
    },
    [["derp.regions[0].id", 'must be number, not string "900"']],
  ],
  [
    "tls mode missing",
    (s: any) => {
      s.headscale.tls = {};
    },
    [["headscale.tls.mode", 'is required (one of "proxy", "letsencrypt", "files")']],
  ],
  [
    "tls mode extra key",
    (s: any) => {
      s.headscale.tls = { mode: "proxy", certPath: "/x" };
    },
    [["headscale.tls.certPath", 'belongs to mode "files", not mode "proxy"']],
  ],
  [
    "not object",
    (s: any) => {
      s.derp.regions[0] = "fra";
    },
    [["derp.regions[0]", 'must be object, not string "fra"']],
  ],
  [
    "dns proxied",
    (s: any) => {
      s.dns = { provider: "cloudflare", zoneName: "example.com", proxied: true };
    },
    [["dns.proxied", "Cloudflare's proxy cannot carry DERP or the Tailscale control protocol (both need a direct TLS connection and long-lived upgrades)"]],
  ],
  [
    "dns no zone",
    (s: any) => {
      s.dns = { provider: "cloudflare" };
    },
    [["dns", "names no zone"]],
  ],
  [
    "dns ttl",
    (s: any) => {
      s.dns = { provider: "cloudflare", zoneName: "example.com", ttl: 30 };
    },
    [["dns.ttl", "30 is not a TTL Cloudflare accepts"]],
  ],
  [
    "dns zone name",
    (s: any) => {
      s.dns = { provider: "cloudflare", zoneName: "https://example.com" };
    },
    [["dns.zoneName", '"https://example.com" is not a DNS name']],
  ],
  [
    "dns provider",
    (s: any) => {
      s.dns = { provider: "route53", zoneName: "example.com" };
    },
    [["dns.provider", 'must be "cloudflare", not "route53"']],
  ],
  [
    "docker daemon",
    (s: any) => {
      s.hosts = [{ name: "a", docker: { daemon: "203.0.113.10" } }];
    },
    [["hosts[0].docker.daemon", '"203.0.113.10" is not a Docker engine address']],
  ],
  [
    "derper version",
    (s: any) => {
      s.derp.derper = { version: "latest" };
    },
    [["derp.derper.version", '"latest" is not a release number']],
  ],
  [
    "derper version unknown",
    (s: any) => {
      s.derp.derper = { version: "1.106.3" };
    },
    [["derp.derper.version", '"1.106.3" is not a Tailscale release the kit knows']],
  ],
  [
    "derper version known",
    (s: any) => {
      s.derp.derper = { version: "v1.104.7" };
    },
    [],
  ],
  [
    "derper image",
    (s: any) => {
      s.derp.derper = { image: "My Image" };
    },
    [["derp.derper.image", '"My Image" is not an image reference']],
  ],
  [
    "cert letsencrypt port",
    (s: any) => {
      s.derp.regions[0].nodes[0].derpPort = 8443;
      s.derp.regions[0].nodes[0].certificate = { mode: "letsencrypt" };
    },
    [["derp.regions[0].nodes[0].certificate.mode", "derper serves TLS with Let's Encrypt only on port 443, but derpPort is 8443 (it would serve plain HTTP)"]],
  ],
  [
    "cert letsencrypt ip",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "192.0.2.10";
      s.derp.regions[0].nodes[0].insecureForTests = true;
      s.derp.regions[0].nodes[0].certificate = { mode: "letsencrypt" };
    },
    [["derp.regions[0].nodes[0].certificate.mode", "Let's Encrypt issues no certificate for the IP address \"192.0.2.10\" in derper's letsencrypt mode"]],
  ],
  [
    "cert manual half",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "manual", certFile: "/tmp/x.crt" };
    },
    [["derp.regions[0].nodes[0].certificate", "names only one of certFile and keyFile"]],
  ],
  [
    "port collision",
    (s: any) => {
      s.hosts = [{ name: "a" }];
      s.headscale.host = "a";
      s.headscale.listenAddr = "0.0.0.0:443";
      s.derp.regions[0].nodes[0].host = "a";
    },
    [["hosts[0]", "tcp port 443 is opened twice on this host: by headscale (control) and by derper fra-1 (derp)"]],
  ],
  // DDNS (hosts[].ddns) and DNS-01 certificates. `home` runs fra-1 (derp.example.com); `zone` adds the Cloudflare zone.
  [
    "ddns cloudflare ok",
    (s: any) => {
      home(s, { provider: "cloudflare" });
      zone(s);
    },
    [],
  ],
  [
    "ddns rfc2136 ok",
    (s: any) => {
      home(s, { provider: rfc2136() });
    },
    [],
  ],
  [
    "ddns without dynamicIp",
    (s: any) => {
      home(s, { provider: "cloudflare" });
      zone(s);
      s.hosts[0].dynamicIp = false;
    },
    [["hosts[0].ddns", "is set while dynamicIp is not true"]],
  ],
  [
    "ddns cloudflare without dns zone",
    (s: any) => {
      home(s, { provider: "cloudflare" });
    },
    [["hosts[0].ddns.provider", "is cloudflare, but the spec has no top-level dns zone for the updater"]],
  ],
  [
    "ddns nothing to update",
    (s: any) => {
      home(s, { provider: "cloudflare" });
      zone(s);
      delete s.derp.regions[0].nodes[0].host;
    },
    [
      [
        "hosts[0].ddns",
        "the host runs nothing reached by a DNS name (no coordination server, no DERP node with a DNS host name), so there is no record to keep current",
      ],
    ],
  ],
  [
    "ddns name outside the zone",
    (s: any) => {
      home(s, { provider: rfc2136({ zone: "example.org" }) });
    },
    [["hosts[0].ddns.provider", '"derp.example.com" (derp node fra-1) is outside the zone "example.org", so the updater cannot write its records']],
  ],
  [
    "ddns interval",
    (s: any) => {
      home(s, { provider: rfc2136(), interval: "30s" });
    },
    [["hosts[0].ddns.interval", '"30s" is not a duration from 1m to 24h']],
  ],
  [
    "ddns both families off",
    (s: any) => {
      home(s, { provider: rfc2136(), ipv4: "off" });
    },
    [["hosts[0].ddns", "turns off both ipv4 and ipv6, so it updates nothing"]],
  ],
  [
    "ddns address url",
    (s: any) => {
      home(s, { provider: rfc2136(), ipv4: { url: "ftp://ip.example.net" } });
    },
    [["hosts[0].ddns.ipv4.url", '"ftp://ip.example.net" is not an http or https URL']],
  ],
  [
    "ddns address interface",
    (s: any) => {
      home(s, { provider: rfc2136(), ipv6: { interface: "eth 0" } });
    },
    [["hosts[0].ddns.ipv6.interface", '"eth 0" is not a network interface name']],
  ],
  [
    "ddns ttl",
    (s: any) => {
      home(s, { provider: rfc2136(), ttl: 30 });
    },
    [["hosts[0].ddns.ttl", "30 is not a TTL the updater can use"]],
  ],
  [
    "ddns tsig key name",
    (s: any) => {
      home(s, { provider: rfc2136({ tsigKeyName: "home ddns" }) });
    },
    [["hosts[0].ddns.provider.tsigKeyName", '"home ddns" is not a TSIG key name']],
  ],
  [
    "ddns nameserver with port",
    (s: any) => {
      home(s, { provider: rfc2136({ nameserver: "192.0.2.53:5353" }) });
    },
    [["hosts[0].ddns.provider.nameserver", '"192.0.2.53:5353" is not a host name or IP address']],
  ],
  [
    "ddns secret file relative",
    (s: any) => {
      home(s, { provider: rfc2136({ tsigSecretFile: "tsig.secret" }) });
    },
    [["hosts[0].ddns.provider.tsigSecretFile", '"tsig.secret" is not an absolute path']],
  ],
  [
    "ddns tsig secret in the spec",
    (s: any) => {
      home(s, { provider: rfc2136({ tsigSecret: "c2VjcmV0" }) });
    },
    [
      [
        "hosts[0].ddns.provider.tsigSecret",
        'unknown key "tsigSecret" (allowed here: type, nameserver, port, zone, tsigKeyName, tsigAlgorithm, tsigSecretFile)',
      ],
    ],
  ],
  [
    "ddns cloudflare token in the spec",
    (s: any) => {
      home(s, { provider: { type: "cloudflare", apiToken: "abc" } });
      zone(s);
    },
    [["hosts[0].ddns.provider.apiToken", 'unknown key "apiToken" (allowed here: type, tokenFile)']],
  ],
  [
    "ddns provider type",
    (s: any) => {
      home(s, { provider: { type: "cloudfare" } });
    },
    [["hosts[0].ddns.provider.type", '"cloudfare" is not one of "cloudflare", "rfc2136"']],
  ],
  [
    "dns-01 ok",
    (s: any) => {
      zone(s);
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: "cloudflare", email: "admin@example.com" };
    },
    [],
  ],
  [
    "dns-01 on an IP address",
    (s: any) => {
      s.derp.regions[0].nodes[0].hostname = "192.0.2.10";
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: rfc2136(), email: "admin@example.com" };
    },
    [["derp.regions[0].nodes[0].certificate.mode", 'DNS-01 proves control of a DNS name, and "192.0.2.10" is an IP address']],
  ],
  [
    "dns-01 cloudflare without dns zone",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: "cloudflare", email: "admin@example.com" };
    },
    [["derp.regions[0].nodes[0].certificate.provider", "is cloudflare, but the spec has no top-level dns zone for the ACME client"]],
  ],
  [
    "dns-01 outside the zone",
    (s: any) => {
      s.dns = { provider: "cloudflare", zoneName: "example.org" };
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: "cloudflare", email: "admin@example.com" };
    },
    [
      [
        "derp.regions[0].nodes[0].certificate.provider",
        '"derp.example.com" (derp node fra-1) is outside the zone "example.org", so the ACME client cannot write its records',
      ],
    ],
  ],
  [
    "dns-01 with a pin",
    (s: any) => {
      s.derp.regions[0].nodes[0].certName = `sha256-raw:${"a".repeat(64)}`;
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: rfc2136(), email: "admin@example.com" };
    },
    [["derp.regions[0].nodes[0].certName", "pins one certificate, but a DNS-01 certificate is replaced at every renewal"]],
  ],
  [
    "dns-01 email",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: rfc2136(), email: "admin" };
    },
    [["derp.regions[0].nodes[0].certificate.email", '"admin" is not an e-mail address']],
  ],
  [
    "dns-01 email missing",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: rfc2136() };
    },
    [["derp.regions[0].nodes[0].certificate.email", "is required"]],
  ],
  [
    "dns-01 acme url",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: rfc2136(), email: "admin@example.com", acmeUrl: "http://acme.example.com/dir" };
    },
    [["derp.regions[0].nodes[0].certificate.acmeUrl", '"http://acme.example.com/dir" is not an https URL']],
  ],
  [
    "dns-01 renew days",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: rfc2136(), email: "admin@example.com", renewDaysBefore: 90 };
    },
    [["derp.regions[0].nodes[0].certificate.renewDaysBefore", "90 is outside 1-60 days"]],
  ],
  [
    "dns-01 resolver",
    (s: any) => {
      s.derp.regions[0].nodes[0].certificate = { mode: "dns-01", provider: rfc2136(), email: "admin@example.com", resolvers: ["1.1.1.1", "dns.google"] };
    },
    [["derp.regions[0].nodes[0].certificate.resolvers[1]", '"dns.google" is not a resolver address']],
  ],
  [
    "policy group name",
    (s: any) => {
      base(s);
      s.policy.groups = { admins: ["alice"] };
      s.policy.acls = [];
    },
    [["policy.groups.admins", '"admins" is not a group name']],
  ],
  [
    "policy group member unknown",
    (s: any) => {
      base(s);
      s.policy.groups["group:admins"] = ["bob"];
    },
    [['policy.groups["group:admins"][0]', 'names user "bob", which is neither in users nor the user of a device']],
  ],
  [
    "policy group member not user",
    (s: any) => {
      base(s);
      s.policy.groups["group:admins"] = ["tag:router"];
    },
    [['policy.groups["group:admins"][0]', '"tag:router" is not a user name (groups hold users only)']],
  ],
  [
    "policy tag owner empty",
    (s: any) => {
      base(s);
      s.policy.tagOwners = { "tag:router": [] };
    },
    [['policy.tagOwners["tag:router"]', "has no owner, so no one can assign the tag"]],
  ],
  [
    "policy tag name",
    (s: any) => {
      base(s);
      s.policy.tagOwners = { router: ["alice"] };
    },
    [["policy.tagOwners.router", '"router" is not a tag']],
  ],
  [
    "policy acl undefined group",
    (s: any) => {
      base(s);
      s.policy.acls = [{ src: ["group:ops"], dst: ["*:*"] }];
    },
    [["policy.acls[0].src[0]", 'names "group:ops", which policy.groups does not define']],
  ],
  [
    "policy acl tag without owner",
    (s: any) => {
      base(s);
      s.policy.acls = [{ src: ["alice"], dst: ["tag:db:5432"] }];
    },
    [["policy.acls[0].dst[0]", 'names "tag:db", which has no owner in policy.tagOwners and no device carries']],
  ],
  [
    "policy acl dst without ports",
    (s: any) => {
      base(s);
      s.policy.acls = [{ src: ["alice"], dst: ["tag:router"] }];
    },
    [["policy.acls[0].dst[0]", '"tag:router" does not end in :ports']],
  ],
  [
    "policy acl empty src",
    (s: any) => {
      base(s);
      s.policy.acls = [{ src: [], dst: ["*:*"] }];
    },
    [["policy.acls[0].src", "is empty, so the rule matches no one"]],
  ],
  [
    "policy acl unknown user",
    (s: any) => {
      base(s);
      s.policy.acls = [{ src: ["bob@"], dst: ["*:*"] }];
    },
    [["policy.acls[0].src[0]", 'names user "bob", which is neither in users nor the user of a device']],
  ],
  [
    "policy autogroup",
    (s: any) => {
      base(s);
      s.policy.acls = [{ src: ["autogroup:admins"], dst: ["*:*"] }];
    },
    [["policy.acls[0].src[0]", '"autogroup:admins" is not an autogroup headscale knows']],
  ],
  [
    "policy host bad",
    (s: any) => {
      base(s);
      s.policy.hosts = { lan: "192.168.100" };
    },
    [["policy.hosts.lan", '"192.168.100" is neither an address nor a prefix']],
  ],
  [
    "policy address with a zone",
    (s: any) => {
      base(s);
      s.policy.hosts = { router: "fe80::1%eth0" };
      s.policy.acls = [{ src: ["fe80::2%eth1"], dst: ["router:*"] }];
    },
    [
      [
        "policy.hosts.router",
        '"fe80::1%eth0" carries the zone "%eth0", which names an interface of one machine; every client of the tailnet reads this address',
      ],
      [
        "policy.acls[0].src[0]",
        '"fe80::2%eth1" carries the zone "%eth1", which names an interface of one machine; every client of the tailnet reads this address',
      ],
    ],
  ],
  [
    "policy address written IPv4-mapped",
    (s: any) => {
      base(s);
      s.policy.hosts = { nas: "::ffff:192.168.100.7" };
    },
    [["policy.hosts.nas", '"::ffff:192.168.100.7" is the IPv4 address 192.168.100.7 written as IPv6 (IPv4-mapped); clients and the policy treat it as IPv6']],
  ],
  [
    "nameservers and MagicDNS records with a zone or IPv4-mapped",
    (s: any) => {
      s.headscale.dns = {
        ...s.headscale.dns,
        nameservers: { global: ["fe80::53%eth0"], split: { "home.arpa": ["::ffff:192.168.100.1"] } },
        extraRecords: [{ name: "nas.tail.example.net", type: "AAAA", value: "fe80::7%lan" }],
      };
    },
    [
      [
        "headscale.dns.nameservers.global[0]",
        '"fe80::53%eth0" carries the zone "%eth0", which names an interface of one machine; every client of the tailnet reads this address',
      ],
      [
        'headscale.dns.nameservers.split["home.arpa"][0]',
        '"::ffff:192.168.100.1" is the IPv4 address 192.168.100.1 written as IPv6 (IPv4-mapped); clients and the policy treat it as IPv6',
      ],
      [
        "headscale.dns.extraRecords[0].value",
        '"fe80::7%lan" carries the zone "%lan", which names an interface of one machine; every client of the tailnet reads this address',
      ],
    ],
  ],
  [
    "policy autoapprover route",
    (s: any) => {
      base(s);
      s.policy.autoApprovers = { routes: { "10.0.0.1/8": ["alice"] } };
    },
    [['policy.autoApprovers.routes["10.0.0.1/8"]', '"10.0.0.1/8" has host bits set']],
  ],
  [
    "policy autoapprover star",
    (s: any) => {
      base(s);
      s.policy.autoApprovers = { exitNode: ["*"] };
    },
    [["policy.autoApprovers.exitNode[0]", '"*" is not allowed here']],
  ],
  [
    "policy with headscale path",
    (s: any) => {
      base(s);
      s.headscale.policy = { path: "/etc/headscale/mine.hujson" };
    },
    [["headscale.policy.path", "is set while the spec has a policy, which the kit renders and points headscale at itself"]],
  ],
  [
    "policy with database mode",
    (s: any) => {
      base(s);
      s.headscale.policy = { mode: "database" };
    },
    [["headscale.policy.mode", 'is "database" while the spec has a policy file to render']],
  ],
  [
    "users dup",
    (s: any) => {
      s.users = [{ name: "a" }, { name: "a" }];
    },
    [["users[1].name", '"a" is declared twice']],
  ],
  [
    "users name",
    (s: any) => {
      s.users = [{ name: "a b" }];
    },
    [["users[0].name", '"a b" is not an identifier']],
  ],
  [
    "users key expiration",
    (s: any) => {
      s.users = [{ name: "a", preAuthKey: { expiration: "1d" } }];
    },
    [["users[0].preAuthKey.expiration", '"1d" is not a Go duration']],
  ],
  [
    "upgrade skipping a minor",
    (s: any) => {
      s.headscale.version = "0.29.3";
      s.headscale.upgradeFrom = "0.27.1";
    },
    [
      [
        "headscale.version",
        "headscale 0.27.1 -> 0.29.3 skips 0.28; headscale upgrades one minor version at a time (0.29 refuses other jumps only on a database a 0.29 or later already used, so it cannot catch this one). Deploy 0.27.1 -> 0.28.0 -> 0.29.3, starting each version once so it migrates the database",
      ],
    ],
  ],
  [
    "upgrade downgrade",
    (s: any) => {
      s.headscale.version = "0.28.0";
      s.headscale.upgradeFrom = "0.29.2";
    },
    [
      [
        "headscale.version",
        "headscale 0.29.2 -> 0.28.0 is a downgrade: headscale does not migrate a database back (0.29 refuses to start on it); restore the database backup taken before 0.29.2 was deployed, or stay on 0.29.2",
      ],
    ],
  ],
  [
    "upgrade from unknown",
    (s: any) => {
      s.headscale.upgradeFrom = "0.23.0";
    },
    [["headscale.upgradeFrom", 'headscale "0.23.0" is not a release the kit knows']],
  ],
  [
    "upgrade one step",
    (s: any) => {
      s.headscale.version = "0.29.3";
      s.headscale.upgradeFrom = "0.28.0";
    },
    [],
  ],
  [
    "rollback one step",
    (s: any) => {
      s.headscale.version = "0.28.0";
      s.headscale.rollbackFrom = "0.29.3";
    },
    [],
  ],
  [
    "rollback two steps",
    (s: any) => {
      s.headscale.version = "0.27.1";
      s.headscale.rollbackFrom = "0.29.3";
    },
    [
      [
        "headscale.rollbackFrom",
        "headscale 0.29.3 -> 0.27.1 is not the reverse of one upgrade step the kit backs up (0.27.1 -> 0.29.3 is not an allowed upgrade), so no backup taken before 0.29.3 was deployed can hold 0.27.1's database",
      ],
    ],
  ],
  [
    "rollback upwards",
    (s: any) => {
      s.headscale.version = "0.29.3";
      s.headscale.rollbackFrom = "0.28.0";
    },
    [
      [
        "headscale.rollbackFrom",
        "headscale 0.28.0 -> 0.29.3 is not the reverse of one upgrade step the kit backs up (0.29.3 -> 0.28.0 is not an allowed upgrade), so no backup taken before 0.28.0 was deployed can hold 0.29.3's database",
      ],
    ],
  ],
  [
    "rollback with upgradeFrom",
    (s: any) => {
      s.headscale.version = "0.28.0";
      s.headscale.rollbackFrom = "0.29.3";
      s.headscale.upgradeFrom = "0.29.3";
    },
    [
      ["headscale.rollbackFrom", "is set together with upgradeFrom; a deployment either upgrades or rolls back"],
      [
        "headscale.version",
        "headscale 0.29.3 -> 0.28.0 is a downgrade: headscale does not migrate a database back (0.29 refuses to start on it); restore the database backup taken before 0.29.3 was deployed, or stay on 0.29.3",
      ],
    ],
  ],
  [
    "rollback from unknown",
    (s: any) => {
      s.headscale.rollbackFrom = "0.30.0";
    },
    [["headscale.rollbackFrom", 'headscale "0.30.0" is not a release the kit knows']],
  ],
  [
    "backup interval",
    (s: any) => {
      s.headscale.backup = { interval: "1m" };
    },
    [["headscale.backup.interval", '"1m" is not a duration from 5m to 24h']],
  ],
  [
    "backup keep",
    (s: any) => {
      s.headscale.backup = { keep: 0 };
    },
    [["headscale.backup.keep", "0 is not a number of backups from 1 to 10000"]],
  ],
  [
    "restic password in a URL",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "rest:https://me:secret@backup.example.com:8000/hs" } };
    },
    [["headscale.backup.restic.repository", '"rest:https://***@backup.example.com:8000/hs" holds a user name or password; the spec never holds secrets']],
  ],
  [
    "restic kind",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "b2:bucket:path" } };
    },
    [["headscale.backup.restic.repository", '"b2:bucket:path" is not a restic repository']],
  ],
  [
    "restic relative path",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "backups/hs" } };
    },
    [["headscale.backup.restic.repository", '"backups/hs" is not a restic repository']],
  ],
  [
    "restic sftp without a path",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "sftp:backup@host" } };
    },
    [["headscale.backup.restic.repository", '"sftp:backup@host" is not an sftp repository restic reads']],
  ],
  [
    "restic s3 without a bucket",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "s3:https://s3.example.com" } };
    },
    [["headscale.backup.restic.repository", '"s3:https://s3.example.com" is not a s3 repository restic reads']],
  ],
  [
    "restic local path with a blank",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "/srv/my backups" } };
    },
    [["headscale.backup.restic.repository", '"/srv/my backups" is not a restic repository']],
  ],
  [
    "restic password file",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "/srv/restic", passwordFile: "restic.pw" } };
    },
    [["headscale.backup.restic.passwordFile", '"restic.pw" is not an absolute path']],
  ],
  [
    "restic ssh key without sftp",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "/srv/restic", sshKeyFile: "/etc/k" } };
    },
    [["headscale.backup.restic.sshKeyFile", "is set, but the repository is not an sftp: one"]],
  ],
  [
    "restic retention",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "/srv/restic", keepDaily: 1.5 } };
    },
    [["headscale.backup.restic.keepDaily", "1.5 is not a number of days from 1 to 10000"]],
  ],
  [
    "restic repositories",
    (s: any) => {
      s.headscale.backup = { restic: { repository: "sftp://backup@[2001:db8::1]:2222//srv/restic" } };
      s.headscale.backup.restic.repository = "sftp:backup@backup.example.com:/srv/restic/hs";
    },
    [],
  ],
  [
    "mesh of pinned nodes",
    (s: any) => {
      s.derp.regions[0].nodes = [
        { name: "a", hostname: "192.0.2.1" },
        { name: "b", hostname: "derp2.example.com" },
      ];
    },
    [
      [
        "derp.regions[0].nodes[0]",
        "is meshed with the region's other nodes, but its certificate is only trusted through a pin; derper checks mesh peers against public CAs, so the mesh would fail",
      ],
    ],
  ],
];

const BACKUP_WARNING =
  "headscale keeps the whole tailnet's state, its private keys and its SQLite database in /var/lib/headscale, and headscale names no host, so the kit deploys nothing that backs it up: losing it means every node registers again";

describe("validate", () => {
  it("accepts the bundled example and the minimal spec", () => {
    expect(validate(exampleSpec()).issues).toEqual([]);
    expect(validate(minimalSpec()).issues).toEqual([]);
  });

  it("returns the resolved model it checked, the same resolve() gives (resolved once, not twice)", () => {
    const result = validate(exampleSpec());
    if (!result.ok) throw new Error("example invalid");
    expect(result.resolved).toEqual(resolve(exampleSpec()));
    expect(loadTailnet(exampleSpec())).toEqual(result.resolved);
  });

  it("warns about legal but risky choices without refusing the spec", () => {
    const spec = minimalSpec();
    spec.derp!.tailscaleRegions = "keep";
    spec.derp!.derper = { verifyClients: false };
    const result = validate(spec);
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.path)).toEqual(["derp.tailscaleRegions", "derp.derper.verifyClients", "headscale"]);
    expect(result.warnings[0]!.message).toContain("refuses to start when that fetch fails");
    // What the model derives (no backup of the single coordination server) comes after what validation found.
    expect(result.warnings[2]).toEqual({
      path: "headscale",
      message: BACKUP_WARNING,
      fix: "back /var/lib/headscale up on a schedule (the database with sqlite3's .backup or VACUUM INTO, not a file copy of a live database), or set headscale.host",
      subject: { kind: "headscale" },
    });
    expect(result.ok && result.resolved.warnings).toEqual(result.warnings);
  });

  it("warns when nothing keeps a dynamic host's records current, and keeps its address out of the DERP maps", () => {
    const spec: any = minimalSpec();
    spec.hosts = [{ name: "home", dynamicIp: true, publicIpv4: "192.0.2.7" }];
    spec.derp.regions[0].nodes[0].host = "home";
    spec.dns = { provider: "cloudflare", zoneName: "example.com" };
    const result = validate(spec);
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => [w.path, w.message])).toEqual([
      ["hosts[0].dynamicIp", 'nothing keeps the DNS records of "derp.example.com" current when the address changes'],
      ["headscale", BACKUP_WARNING],
    ]);
    expect(result.warnings[0]!.subject).toEqual({ kind: "host", host: "home" });
    // Clients resolve the node's name (kept current by the updater); the record starts from the known address.
    const tailnet = loadTailnet(spec);
    expect(tailnet.derp.regions[0]!.nodes[0]!.ipv4).toBeUndefined();
    expect(tailnet.dns!.records).toEqual([expect.objectContaining({ name: "derp.example.com", type: "A", value: "192.0.2.7", dynamic: true })]);
  });

  it.each(cases)("%s", (_name, mutate, expected) => {
    const spec = minimalSpec();
    mutate(spec);
    const result = validate(spec);
    expect(result.issues.map((i) => [i.path, i.message])).toEqual(expected);
    expect(result.ok).toBe(expected.length === 0);
    for (const issue of result.issues) expect(issue.fix.length).toBeGreaterThan(5);
  });

  it("reports every problem at once, structural and semantic together", () => {
    const spec: any = minimalSpec();
    spec.headscale.dns.base_domain = "x"; // typo
    spec.headscale.dns.baseDomain = "example.com"; // parent of hs.example.com
    spec.derp.regions[0].id = 42; // out of range
    spec.derp.regions[0].nodes[0].hostname = "https://derp.example.com"; // scheme
    spec.hosts = [{ name: "a", publicIpv4: 5 }]; // wrong type
    const paths = validate(spec).issues.map((i) => i.path);
    expect(paths).toEqual([
      "headscale.dns.base_domain",
      "derp.regions[0].nodes[0].hostname",
      "hosts[0].publicIpv4",
      "headscale.dns.baseDomain",
      "derp.regions[0].id",
    ]);
  });

  it("gives did-you-mean fixes for misspelled keys, headscale spellings included", () => {
    const spec: any = minimalSpec();
    spec.headscale.serverURL = spec.headscale.serverUrl;
    delete spec.headscale.serverUrl;
    spec.derp.regions[0].nodes[0].derp_port = 8443;
    const fixes = Object.fromEntries(validate(spec).issues.map((i) => [i.path, i.fix]));
    expect(fixes["headscale.serverURL"]).toBe('did you mean "serverUrl"?');
    expect(fixes["derp.regions[0].nodes[0].derp_port"]).toBe('did you mean "derpPort"?');
  });

  it("defers checks on Terraform tokens instead of failing", () => {
    const spec = minimalSpec();
    spec.hosts = [{ name: "vm", publicIpv4: "${TfToken[TOKEN.7]}", publicIpv6: "${aws_instance.relay.ipv6_address}" }];
    spec.derp!.regions![0]!.nodes[0]!.host = "vm";
    expect(validate(spec).issues).toEqual([]);
    expect(loadTailnet(spec).derp.regions[0]!.nodes[0]!.ipv4).toBe("${TfToken[TOKEN.7]}");
  });

  it("refuses a spec that is not an object at all", () => {
    expect(validate("headscale").issues.map((i) => i.message)).toEqual(['must be object, not string "headscale"']);
    expect(validate(null).ok).toBe(false);
  });

  it("loadTailnet throws one error that lists every problem with its fix", () => {
    const spec: any = minimalSpec();
    spec.headscale.version = "0.19.0";
    spec.derp.regions[0].id = 5;
    let error: unknown;
    try {
      loadTailnet(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TailnetSpecError);
    const err = error as TailnetSpecError;
    expect(err.issues).toHaveLength(2);
    expect(err.message).toBe(`the tailnet spec has 2 problems:\n${formatIssues(err.issues)}`);
    expect(err.message).toContain("derp.regions[0].id: 5 is outside 900-999");
    expect(err.message).toContain("\n  fix: use one of 0.27.0, 0.27.1, 0.28.0");
  });

  it("accepts the benchmark's large spec (users, devices and the policy naming them; timed in bench/validate-scale.ts)", () => {
    const result = validate(scaleSpec(2_000, 400, 10, 3));
    expect(result.issues).toEqual([]);
    expect(result.ok && result.resolved.users).toHaveLength(2_000);
  });
});
