import { Annotations } from "cdktf";
import { Construct } from "constructs";
import { loadTailnet, type ModelWarning, type PreparedTailnet, type TailnetSpec } from "../model/index.js";
import { prepare } from "../secrets/index.js";
import { DerpRegion } from "./derp-region.js";
import { DnsRecords } from "./dns-records.js";
import { DynamicDns } from "./dns-helpers.js";
import { DockerHost } from "./docker-host.js";
import { HeadscaleServer, type HeadscaleServerProps } from "./headscale-server.js";
import { VmHost, type VmSshConnection } from "./vm-host.js";
import { annotateWarnings } from "./warnings.js";
import { checkModelTokens } from "./terraform-text.js";

/** Props of a {@link Tailnet}. */
export interface TailnetProps {
  /**
   * The tailnet spec: a `TailnetSpec` object, or the text of a tailnet.yaml (parsed strictly, as
   * `loadTailnet` does: YAML 1.2 core schema, duplicate keys refused). Validated first.
   */
  readonly spec: TailnetSpec | string | unknown;
  /**
   * Cloudflare API token for the DNS records.
   * @default - see {@link DnsRecordsProps.apiToken}
   */
  readonly cloudflareApiToken?: string;
  /**
   * Root of the local secrets directory (mesh keys, keys of self-signed certificates).
   * @default - `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`
   */
  readonly secretsDir?: string;
  /**
   * How Terraform reaches each VM host's sshd, by host name: every host with `vm` is installed
   * over SSH by a {@link VmHost}, unless its entry is `false` (cloud-init alone sets it up).
   * @default - each VM host at its public address, as root, with the SSH agent's keys
   */
  readonly vmConnections?: Readonly<Record<string, VmSshConnection | false>>;
  /**
   * Protect headscale's data volume from deletion (see {@link HeadscaleServerProps.retainData}).
   * @default true
   */
  readonly retainHeadscaleData?: boolean;
}

/**
 * A whole tailnet from one spec: a {@link DockerHost} per host with a docker target, a
 * {@link VmHost} (installed over SSH) per host with a vm target, the
 * {@link HeadscaleServer}, a {@link DerpRegion} per region with its nodes on their hosts, and
 * {@link DnsRecords} when the spec names a zone. The spec is validated before anything is
 * created: a spec with problems throws a TailnetSpecError listing every one of them. Risky but
 * legal choices become warnings on this construct.
 *
 * Children have stable ids (`host-<name>`, `vm-<name>`, `headscale`, `region-<code>`, `dns`), so Terraform
 * addresses survive refactors of your own code.
 *
 * @example
 * new Tailnet(stack, "home-lab", { spec: readFileSync("tailnet.yaml", "utf8") });
 */
export class Tailnet extends Construct {
  /** The validated, resolved model everything was built from. */
  readonly model: PreparedTailnet;
  readonly hosts: ReadonlyMap<string, DockerHost>;
  readonly headscale: HeadscaleServer | undefined;
  readonly regions: readonly DerpRegion[];
  readonly dns: DnsRecords | undefined;
  /** The dynamic-DNS updaters of Docker hosts with `ddns`, by host name. */
  readonly dynamicDns: ReadonlyMap<string, DynamicDns>;
  /** The hosts with `vm` installed over SSH, by host name. */
  readonly vmHosts: ReadonlyMap<string, VmHost>;

  constructor(scope: Construct, id: string, props: TailnetProps) {
    super(scope, id);
    const resolved = loadTailnet(props.spec);
    // Token text where the spec allows none is refused before any of it reaches a secrets file's name
    // or cdktf; the constructs below check the prepared model again (once, it is remembered).
    checkModelTokens(resolved);
    const model = prepare(resolved, { secretsDir: props.secretsDir });
    checkModelTokens(model);
    this.model = model;

    const hosts = new Map<string, DockerHost>();
    for (const host of model.hosts) {
      if (host.docker) hosts.set(host.name, DockerHost.fromModel(this, `host-${host.name}`, host));
    }
    this.hosts = hosts;

    const hsHost = model.headscale.host === undefined ? undefined : hosts.get(model.headscale.host);
    this.headscale = hsHost ? new HeadscaleServer(this, "headscale", { tailnet: model, host: hsHost, retainData: props.retainHeadscaleData }) : undefined;

    const byName = Object.fromEntries(hosts);
    this.regions = model.derp.regions.map(
      (r) => new DerpRegion(this, `region-${r.code}`, { tailnet: model, regionId: r.id, hosts: byName, secretsDir: props.secretsDir }),
    );
    this.dns = model.dns ? new DnsRecords(this, "dns", { zone: model.dns, apiToken: props.cloudflareApiToken }) : undefined;
    const updaters = new Map<string, DynamicDns>();
    for (const host of model.hosts) {
      const engine = hosts.get(host.name);
      if (host.ddns && engine) updaters.set(host.name, new DynamicDns(this, `ddns-${host.name}`, { tailnet: model, host: engine }));
    }
    this.dynamicDns = updaters;
    const vmHosts = new Map<string, VmHost>();
    for (const host of model.hosts) {
      const connection = props.vmConnections?.[host.name];
      if (!host.vm || connection === false) continue;
      if ((connection?.host ?? host.publicIpv4 ?? host.publicIpv6) === undefined) {
        Annotations.of(this).addWarning(
          `host ${host.name} has vm but no public address, so it is not installed over SSH; give vmConnections["${host.name}"].host, or false to leave it to cloud-init`,
        );
        continue;
      }
      vmHosts.set(
        host.name,
        new VmHost(this, `vm-${host.name}`, { tailnet: model, hostName: host.name, connection: connection ?? {}, secretsDir: props.secretsDir }),
      );
    }
    this.vmHosts = vmHosts;
    this.#reportWarnings(model.warnings);
  }

  /**
   * The model's warnings that no child reported (HeadscaleServer, DerpNode and VmHost report
   * their own), on the child they concern, else on the Tailnet.
   */
  #reportWarnings(warnings: readonly ModelWarning[]): void {
    const deployedNodes = new Set(this.regions.flatMap((r) => [...r.nodes.keys()]));
    for (const w of warnings) {
      const s = w.subject;
      if (s.kind === "headscale" && this.headscale) continue;
      if (s.kind === "derp-node" && deployedNodes.has(s.node)) continue;
      if (s.kind === "host" && this.vmHosts.has(s.host)) continue;
      const target = (s.kind === "dns" ? this.dns : s.kind === "host" ? this.hosts.get(s.host) : undefined) ?? this;
      annotateWarnings(target, [w]);
    }
  }
}
