import { Construct } from "constructs";
import { CloudflareProvider, DataCloudflareZone, DnsRecord } from "./providers.js";
import type { ResolvedDnsZone } from "../model/index.js";
import { checkModelTokens, terraformString, terraformValue } from "./terraform-text.js";

/** Props of {@link DnsRecords}. */
export interface DnsRecordsProps {
  /** The zone and records, as resolved in the model (`tailnet.dns`). */
  readonly zone: ResolvedDnsZone;
  /**
   * Cloudflare API token (scoped to DNS edit on this zone): the value of a sensitive
   * `TerraformVariable` or of your own secret store, never a literal.
   * @default - the provider reads CLOUDFLARE_API_TOKEN from the environment at plan/apply time
   */
  readonly apiToken?: string;
}

function recordId(name: string, type: string, index: number): string {
  return `${name.replace(/[^a-zA-Z0-9-]/g, "_")}_${type}${index > 0 ? `_${index}` : ""}`;
}

/**
 * A/AAAA records for the coordination server and every DERP node, never proxied (DERP and the
 * control protocol cannot pass Cloudflare's proxy). Records of hosts with a dynamic address are
 * created once and then left to the updater on the host (`ignore_changes` on the content).
 */
export class DnsRecords extends Construct {
  readonly provider: CloudflareProvider;
  readonly zoneId: string;
  readonly records: readonly DnsRecord[];

  constructor(scope: Construct, id: string, props: DnsRecordsProps) {
    super(scope, id);
    const { zone } = props;
    checkModelTokens(zone, "the DNS zone");
    this.provider = new CloudflareProvider(this, "Provider", props.apiToken === undefined ? {} : { apiToken: props.apiToken });
    this.zoneId =
      zone.zoneId !== undefined
        ? terraformString(zone.zoneId)
        : new DataCloudflareZone(this, "Zone", { provider: this.provider, filter: { name: terraformString(zone.zoneName!) } }).zoneId;
    const seen = new Map<string, number>();
    this.records = zone.records.map((r) => {
      const key = `${r.name}/${r.type}`;
      const index = seen.get(key) ?? 0;
      seen.set(key, index + 1);
      return new DnsRecord(this, recordId(r.name, r.type, index), {
        provider: this.provider,
        zoneId: this.zoneId,
        name: terraformString(r.name),
        type: terraformString(r.type),
        content: terraformValue(r.value),
        ttl: zone.ttl,
        proxied: false,
        comment: terraformString(`cdktf-tailnet: ${r.purpose}${r.dynamic ? " (dynamic address, kept current on the host)" : ""}`),
        ...(r.dynamic ? { lifecycle: { ignoreChanges: ["content"] } } : {}),
      });
    });
  }
}
