import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadTailnet, SUPPORTED_HEADSCALE_VERSIONS } from "../../model/index.js";
import { headscaleConfigObject, renderHeadscaleConfig } from "../../render/index.js";
import { headscaleConfigKeys } from "../support/headscale-source.js";
import { exampleSpec, maximalSpec } from "../support/specs.js";
import { upstreamSkipReason, upstreamVersions } from "../support/upstream.js";
import { skipReason } from "../support/requirements.js";

type Obj = Record<string, unknown>;

function configFor(spec: unknown): Obj {
  return parse(renderHeadscaleConfig(loadTailnet(spec))) as Obj;
}

/** Dotted paths of `config` not read by headscale: a key counts when it or an ancestor is read. */
function unknownKeys(config: Obj, known: Set<string>, prefix = ""): string[] {
  return Object.entries(config).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    if (known.has(path)) return [];
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return unknownKeys(v as Obj, known, path);
    return [path];
  });
}

function get(config: Obj, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o as Obj | undefined)?.[k], config);
}

describe.skipIf(!!skipReason("headscale-config (source)", upstreamSkipReason))(
  `config.yaml keys against headscale's own source ${upstreamSkipReason ?? ""}`,
  () => {
    it.each(upstreamVersions.headscale)("every key rendered for %s is one that version's config.go reads", (version) => {
      const known = headscaleConfigKeys(version);
      expect(known.size).toBeGreaterThan(60);
      expect(unknownKeys({ server_url: "x", dns_config: { magic_dns: true } }, known)).toEqual(["dns_config.magic_dns"]);
      const v = version.replace(/^v/, "");
      for (const spec of [exampleSpec(), maximalSpec(v, "sqlite"), maximalSpec(v, "postgres")]) {
        spec.headscale.version = v;
        expect(unknownKeys(configFor(spec), known)).toEqual([]);
      }
    });
  },
);

describe("config.yaml per version", () => {
  const versioned = (version: string) => {
    const spec = maximalSpec(version);
    return configFor(spec);
  };

  it("0.29 uses the node section and drops keys 0.29 refuses", () => {
    const c = versioned("0.29.3");
    expect(get(c, "node.ephemeral.inactivity_timeout")).toBe("30m");
    expect(get(c, "node.expiry")).toBe("180d");
    expect(c).not.toHaveProperty("ephemeral_node_inactivity_timeout");
    expect(c).not.toHaveProperty("randomize_client_port");
    expect(get(c, "oidc.expiry")).toBeUndefined();
    expect(get(c, "trusted_proxies")).toEqual(["10.0.0.5/32"]);
    expect(get(c, "taildrop.enabled")).toBe(false);
  });

  it.each(["0.27.1", "0.28.0"])("%s uses the pre-0.29 spelling", (version) => {
    const c = versioned(version);
    expect(c).not.toHaveProperty("node");
    expect(c).not.toHaveProperty("trusted_proxies");
    expect(get(c, "ephemeral_node_inactivity_timeout")).toBe("30m");
    expect(get(c, "oidc.expiry")).toBe("180d");
    expect(get(c, "randomize_client_port")).toBe(false);
  });

  it("0.27 has no taildrop or email_verified_required; 0.28 has both", () => {
    expect(versioned("0.27.1")).not.toHaveProperty("taildrop");
    expect(get(versioned("0.27.1"), "oidc.email_verified_required")).toBeUndefined();
    expect(get(versioned("0.28.0"), "taildrop.enabled")).toBe(false);
    expect(get(versioned("0.28.0"), "oidc.email_verified_required")).toBe(true);
  });

  it.each(SUPPORTED_HEADSCALE_VERSIONS)("%s always states the keys whose code default differs from the example", (version) => {
    const spec = exampleSpec();
    spec.headscale.version = version;
    const text = renderHeadscaleConfig(loadTailnet(spec));
    const c = parse(text) as Obj;
    expect(get(c, "database.type")).toBe("sqlite");
    expect(get(c, "database.gorm")).toEqual({ prepare_stmt: true, parameterized_queries: true, skip_err_record_not_found: true, slow_threshold: 1000 });
    expect(get(c, "derp.urls")).toEqual([]);
    expect(get(c, "derp.auto_update_enabled")).toBe(true);
    expect(get(c, "noise.private_key_path")).toBe("/var/lib/headscale/noise_private.key");
    expect(text).toContain('\nunix_socket_permission: "0770"\n');
  });
});

describe("config.yaml content", () => {
  it("keeps Tailscale's public map only when asked, and never fetches it otherwise", () => {
    const dropped = configFor(exampleSpec());
    expect(get(dropped, "derp.urls")).toEqual([]);
    const kept = exampleSpec();
    kept.derp!.tailscaleRegions = "keep";
    expect(get(configFor(kept), "derp.urls")).toEqual(["https://controlplane.tailscale.com/derpmap/default"]);
  });

  it("writes no secret: no database password, no OIDC client secret", () => {
    const text = renderHeadscaleConfig(loadTailnet(maximalSpec("0.29.3", "postgres")));
    const c = parse(text) as Obj;
    expect(get(c, "database.postgres")).toEqual({
      host: "db.internal",
      port: 5432,
      name: "headscale",
      user: "headscale",
      ssl: "require",
      max_open_conns: 10,
      max_idle_conns: 10,
      conn_max_idle_time_secs: 3600,
    });
    expect(text).not.toMatch(/\bpass:|client_secret:/);
    expect(get(c, "oidc.client_secret_path")).toBe("${CREDENTIALS_DIRECTORY}/oidc_client_secret");
  });

  it("renders Let's Encrypt, the embedded DERP and extra records as headscale spells them", () => {
    const c = configFor(maximalSpec("0.29.3"));
    expect(get(c, "tls_letsencrypt_hostname")).toBe("hs.example.com");
    expect(get(c, "tls_letsencrypt_challenge_type")).toBe("TLS-ALPN-01");
    expect(get(c, "tls_letsencrypt_cache_dir")).toBe("/var/lib/headscale/cache");
    expect(get(c, "derp.server")).toEqual({
      enabled: true,
      region_id: 999,
      region_code: "headscale",
      region_name: "Headscale Embedded DERP",
      verify_clients: true,
      stun_listen_addr: "0.0.0.0:3478",
      private_key_path: "/var/lib/headscale/derp_server_private.key",
      automatically_add_embedded_derp_region: true,
      ipv4: "203.0.113.10",
      ipv6: "2001:db8:10::1",
    });
    expect(get(c, "dns.extra_records")).toEqual([{ name: "grafana.tail.example.net", type: "A", value: "100.64.0.10" }]);
  });

  it("is byte-identical for the same model, whatever order regions and split domains come in", () => {
    const a = exampleSpec();
    const b = exampleSpec();
    b.derp!.regions!.reverse();
    b.headscale.dns!.nameservers!.split = { "z.example": ["192.0.2.1"], "home.arpa": ["192.168.100.1"] };
    a.headscale.dns!.nameservers!.split = { "home.arpa": ["192.168.100.1"], "z.example": ["192.0.2.1"] };
    expect(renderHeadscaleConfig(loadTailnet(a))).toBe(renderHeadscaleConfig(loadTailnet(b)));
    expect(headscaleConfigObject(loadTailnet(a))).toEqual(headscaleConfigObject(loadTailnet(a)));
  });
});
