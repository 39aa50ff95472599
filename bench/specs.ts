/** Spec fixtures for tests and benchmarks: the bundled example, a minimal valid spec, large specs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { ResolvedTailnet, TailnetSpec } from "../model/index.js";
import { prepareTailnet } from "../secrets/index.js";
import { packageRoot } from "../fsx/package-root.js";

/** The bundled example, parsed afresh on every call (tests may mutate it). */
export function exampleSpec(): TailnetSpec {
  return parse(readFileSync(join(packageRoot(), "examples", "home-lab", "tailnet.yaml"), "utf8")) as TailnetSpec;
}

/** A small valid spec: one region of one node, a coordination server behind a proxy. */
export function minimalSpec(): TailnetSpec {
  return {
    headscale: {
      serverUrl: "https://hs.example.com",
      dns: { baseDomain: "tail.example.net" },
    },
    derp: {
      regions: [{ id: 900, code: "fra", name: "Frankfurt", nodes: [{ name: "fra-1", hostname: "derp.example.com" }] }],
    },
  };
}

/** A spec of `regions` regions with `nodesPerRegion` nodes each, for scale tests and benchmarks. */
export function largeSpec(regions: number, nodesPerRegion: number): TailnetSpec {
  const spec = minimalSpec();
  spec.hosts = [];
  spec.derp = { regions: [] };
  for (let r = 0; r < regions; r++) {
    const id = 900 + (r % 100);
    const nodes = [];
    for (let n = 0; n < nodesPerRegion; n++) {
      const name = `r${r}-n${n}`;
      spec.hosts.push({ name, publicIpv4: `198.51.${Math.floor((r * nodesPerRegion + n) / 250)}.${((r * nodesPerRegion + n) % 250) + 1}` });
      nodes.push({ name, host: name, hostname: `${name}.derp.example.com` });
    }
    spec.derp.regions!.push({ id, code: `r${r}`, name: `Region ${r}`, nodes });
  }
  return spec;
}

/**
 * A spec that turns on every optional headscale feature the target version has, so renderer
 * tests see every key the kit can emit.
 */
export function maximalSpec(version: string, database: "sqlite" | "postgres" = "sqlite"): TailnetSpec {
  const minor = version.replace(/^v/, "").split(".").slice(0, 2).join(".");
  const atLeast = (m: string) => Number(minor.split(".")[1]) >= Number(m.split(".")[1]);
  const spec = exampleSpec();
  spec.headscale = {
    ...spec.headscale,
    version,
    listenAddr: "0.0.0.0:443",
    tls: { mode: "letsencrypt", challenge: "TLS-ALPN-01", email: "admin@example.com" },
    database: database === "sqlite" ? { type: "sqlite", writeAheadLog: true } : { type: "postgres", host: "db.internal", name: "headscale", user: "headscale" },
    oidc: {
      issuer: "https://login.example.com",
      clientId: "headscale",
      clientSecretPath: "${CREDENTIALS_DIRECTORY}/oidc_client_secret",
      allowedDomains: ["example.com"],
      extraParams: { domain_hint: "example.com" },
      pkce: { enabled: true, method: "S256" },
      ...(atLeast("0.28") && { emailVerifiedRequired: true }),
    },
    embeddedDerp: { enabled: true, regionId: 999 },
    nodeExpiry: "180d",
    log: { level: "debug", format: "json" },
    ...(atLeast("0.29") && { trustedProxies: ["10.0.0.5/32"] }),
    ...(atLeast("0.28") && { taildrop: false }),
  };
  spec.headscale.dns = {
    ...spec.headscale.dns,
    searchDomains: ["home.arpa"],
    extraRecords: [{ name: "grafana.tail.example.net", type: "A", value: "100.64.0.10" }],
  };
  spec.derp = { ...spec.derp, tailscaleRegions: { keepExcept: [1, 2] } };
  return spec;
}

/** The bundled example, validated, resolved and with its certificates issued (into the secrets directory). */
export function preparedExample(spec: TailnetSpec = exampleSpec()): ResolvedTailnet {
  return prepareTailnet(spec);
}

/**
 * A spec at the scale the validator must stay linear at: `users` users (in groups of 500),
 * `devices` devices (one user each, tagged, every tenth a subnet router, every hundredth an exit
 * node), a policy that names groups, tags and users, and `regions` x `nodesPerRegion` DERP nodes
 * (see largeSpec). Region ids are 900-999, so more than 100 regions repeat ids and the spec is
 * then refused for that (the checks still all run).
 */
export function scaleSpec(users: number, devices: number, regions: number, nodesPerRegion: number): TailnetSpec {
  const spec = largeSpec(regions, nodesPerRegion);
  const userName = (i: number) => `user-${i}`;
  spec.users = Array.from({ length: users }, (_, i) => ({ name: userName(i), ...(i % 7 === 0 && { preAuthKey: { reusable: true, expiration: "720h" } }) }));
  const tags = Array.from({ length: 50 }, (_, i) => `tag:t${i}`);
  spec.devices = Array.from({ length: devices }, (_, i) => ({
    name: `device-${i}`,
    user: userName((i * 5) % Math.max(users, 1)),
    tags: [tags[i % tags.length]!],
    ...(i % 10 === 0 && { advertiseRoutes: [`10.${Math.floor(i / 10 / 256) % 256}.${Math.floor(i / 10) % 256}.0/24`] }),
    ...(i % 100 === 0 && { exitNode: true }),
  }));
  const groups: Record<string, string[]> = {};
  for (let g = 0; g * 500 < users; g++) groups[`group:g${g}`] = Array.from({ length: Math.min(500, users - g * 500) }, (_, j) => userName(g * 500 + j));
  const groupNames = Object.keys(groups);
  spec.policy = {
    groups,
    tagOwners: Object.fromEntries(tags.map((t, i) => [t, [groupNames[i % groupNames.length] ?? "autogroup:member"]])),
    hosts: { "home-lan": "192.168.100.0/24" },
    acls: [
      ...groupNames.map((g, i) => ({ src: [g], dst: [`${tags[i % tags.length]}:22,443`, "home-lan:*"] })),
      { src: Array.from({ length: Math.min(users, 1000) }, (_, i) => userName(i)), dst: ["*:*"] },
    ],
  };
  return spec;
}
