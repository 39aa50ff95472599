/**
 * headscale's config.yaml for the target version: only keys that version knows, renamed keys in
 * the version's spelling, and every key whose code default differs from the upstream example
 * written out explicitly (database.type, database.gorm.*, derp.urls, derp.auto_update_enabled, a
 * quoted unix_socket_permission), so what headscale runs is what the file says.
 */
import type { ResolvedHeadscale, ResolvedTailnet } from "../model/index.js";
import { toYaml } from "./yaml-text.js";

type Obj = Record<string, unknown>;

function derpSection(hs: ResolvedHeadscale): Obj {
  const f = hs.version.minor.features;
  const e = hs.embeddedDerp;
  const server: Obj = e
    ? {
        enabled: true,
        region_id: e.regionId,
        region_code: e.regionCode,
        region_name: e.regionName,
        ...(f.embeddedDerpVerifyClients && { verify_clients: e.verifyClients }),
        stun_listen_addr: e.stunListenAddr,
        private_key_path: `${hs.paths.stateDir}/derp_server_private.key`,
        automatically_add_embedded_derp_region: e.automaticallyAddRegion,
        ...(e.ipv4 !== undefined && { ipv4: e.ipv4 }),
        ...(e.ipv6 !== undefined && { ipv6: e.ipv6 }),
      }
    : { enabled: false };
  return {
    server,
    urls: [...hs.derpMapUrls],
    paths: [...hs.derpMapPaths],
    auto_update_enabled: true,
    update_frequency: hs.derpUpdateFrequency,
  };
}

function databaseSection(hs: ResolvedHeadscale): Obj {
  const gorm = { prepare_stmt: true, parameterized_queries: true, skip_err_record_not_found: true, slow_threshold: 1000 };
  const db = hs.database;
  if (db.type === "sqlite") {
    return {
      type: "sqlite",
      debug: false,
      gorm,
      sqlite: { path: `${hs.paths.stateDir}/db.sqlite`, write_ahead_log: db.writeAheadLog, wal_autocheckpoint: 1000 },
    };
  }
  // The password is not here: headscale reads HEADSCALE_DATABASE_POSTGRES_PASS from its environment.
  return {
    type: "postgres",
    debug: false,
    gorm,
    postgres: {
      host: db.host,
      ...(db.port !== undefined && { port: db.port }),
      name: db.name,
      user: db.user,
      ssl: db.ssl,
      max_open_conns: 10,
      max_idle_conns: 10,
      conn_max_idle_time_secs: 3600,
    },
  };
}

function tlsKeys(hs: ResolvedHeadscale): Obj {
  const tls = hs.tls;
  if (tls.mode === "letsencrypt") {
    return {
      acme_url: tls.acmeUrl,
      acme_email: tls.email,
      tls_letsencrypt_hostname: tls.hostname,
      tls_letsencrypt_cache_dir: `${hs.paths.stateDir}/cache`,
      tls_letsencrypt_challenge_type: tls.challenge,
      tls_letsencrypt_listen: ":http",
      tls_cert_path: "",
      tls_key_path: "",
    };
  }
  return {
    tls_letsencrypt_hostname: "",
    tls_cert_path: tls.mode === "files" ? tls.certPath : "",
    tls_key_path: tls.mode === "files" ? tls.keyPath : "",
  };
}

function dnsSection(hs: ResolvedHeadscale): Obj {
  const dns = hs.dns;
  return {
    magic_dns: dns.magicDns,
    base_domain: dns.baseDomain,
    override_local_dns: dns.overrideLocalDns,
    nameservers: {
      global: [...dns.nameservers.global],
      split: Object.fromEntries(
        Object.entries(dns.nameservers.split)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [k, [...v]]),
      ),
    },
    search_domains: [...dns.searchDomains],
    ...(dns.extraRecordsPath !== undefined
      ? { extra_records_path: dns.extraRecordsPath }
      : { extra_records: dns.extraRecords.map((r) => ({ name: r.name, type: r.type, value: r.value })) }),
  };
}

function oidcSection(hs: ResolvedHeadscale): Obj | undefined {
  const o = hs.oidc;
  if (!o) return undefined;
  const f = hs.version.minor.features;
  return {
    only_start_if_oidc_is_available: o.onlyStartIfAvailable,
    issuer: o.issuer,
    client_id: o.clientId,
    client_secret_path: o.clientSecretPath,
    scope: [...o.scope],
    extra_params: { ...o.extraParams },
    allowed_domains: [...o.allowedDomains],
    allowed_users: [...o.allowedUsers],
    allowed_groups: [...o.allowedGroups],
    ...(f.oidcEmailVerifiedRequired && { email_verified_required: o.emailVerifiedRequired }),
    // Before 0.29 a node's default expiry was an OIDC setting.
    ...(!f.nodeSection && hs.nodeExpiry !== undefined && { expiry: hs.nodeExpiry }),
    use_expiry_from_token: o.useExpiryFromToken,
    pkce: { enabled: o.pkce.enabled, method: o.pkce.method },
  };
}

/** The config as a plain object, in the order of headscale's example file. */
export function headscaleConfigObject(tailnet: ResolvedTailnet): Obj {
  const hs = tailnet.headscale;
  const f = hs.version.minor.features;
  const p = hs.paths;
  const oidc = oidcSection(hs);
  return {
    server_url: hs.serverUrl,
    listen_addr: hs.listenAddr,
    metrics_listen_addr: hs.metricsListenAddr,
    grpc_listen_addr: hs.grpcListenAddr,
    grpc_allow_insecure: hs.grpcAllowInsecure,
    ...(f.trustedProxies && { trusted_proxies: [...hs.trustedProxies] }),
    noise: { private_key_path: `${p.stateDir}/noise_private.key` },
    prefixes: {
      ...(hs.prefixes.v4 !== undefined && { v4: hs.prefixes.v4 }),
      ...(hs.prefixes.v6 !== undefined && { v6: hs.prefixes.v6 }),
      allocation: hs.prefixes.allocation,
    },
    derp: derpSection(hs),
    disable_check_updates: hs.disableCheckUpdates,
    ...(f.nodeSection
      ? {
          node: {
            ...(hs.nodeExpiry !== undefined && { expiry: hs.nodeExpiry }),
            ephemeral: { inactivity_timeout: hs.ephemeralInactivityTimeout },
          },
        }
      : { ephemeral_node_inactivity_timeout: hs.ephemeralInactivityTimeout }),
    database: databaseSection(hs),
    ...tlsKeys(hs),
    log: { level: hs.log.level, format: hs.log.format },
    policy: { mode: hs.policy.mode, path: hs.policy.path },
    dns: dnsSection(hs),
    unix_socket: `${p.runDir}/headscale.sock`,
    unix_socket_permission: "0770",
    ...(oidc && { oidc }),
    logtail: { enabled: false },
    ...(f.randomizeClientPortKey && { randomize_client_port: false }),
    ...(f.taildrop && { taildrop: { enabled: hs.taildrop } }),
  };
}

/** Renders config.yaml. */
export function renderHeadscaleConfig(tailnet: ResolvedTailnet): string {
  const hs = tailnet.headscale;
  const header = [
    ` Rendered by cdktf-tailnet for headscale ${hs.version.version} (tailnet "${tailnet.name}"); do not edit.`,
    " Change the spec and render again: the kit validates it against this version's rules first.",
  ].join("\n");
  return toYaml(headscaleConfigObject(tailnet), header);
}
