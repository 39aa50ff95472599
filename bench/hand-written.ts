/**
 * The floor for the synth benchmark: the same Terraform resources a kit stack synthesizes, but
 * created directly with the provider classes, the way someone would write them by hand with no
 * kit (no spec parsing, validation, rendering, certificates or assets). `handWrittenPlan()` reads
 * a synthesized cdk.tf.json into that list; `bench/hand-written-app.ts` creates and synthesizes it.
 * It is a lower bound: references become literal strings and build contexts plain paths.
 */

/** A provider or resource to create: the provider class's module and export, and its props. */
export interface HandWrittenItem {
  readonly module: string;
  readonly className: string;
  readonly id: string;
  /** Provider key (`docker.<alias>` or `cloudflare`) of the item, for resources. */
  readonly provider?: string;
  readonly props: Record<string, unknown>;
}

export interface HandWrittenPlan {
  readonly providers: readonly HandWrittenItem[];
  readonly resources: readonly HandWrittenItem[];
}

const CLASSES: Readonly<Record<string, readonly [string, string]>> = {
  docker: ["@cdktf/provider-docker/lib/provider/index.js", "DockerProvider"],
  cloudflare: ["@cdktf/provider-cloudflare/lib/provider/index.js", "CloudflareProvider"],
  docker_container: ["@cdktf/provider-docker/lib/container/index.js", "Container"],
  docker_image: ["@cdktf/provider-docker/lib/image/index.js", "Image"],
  docker_volume: ["@cdktf/provider-docker/lib/volume/index.js", "Volume"],
  cloudflare_dns_record: ["@cdktf/provider-cloudflare/lib/dns-record/index.js", "DnsRecord"],
  cloudflare_zone: ["@cdktf/provider-cloudflare/lib/data-cloudflare-zone/index.js", "DataCloudflareZone"],
};

function classOf(type: string): readonly [string, string] {
  const c = CLASSES[type];
  if (!c) throw new Error(`hand-written bench: no provider class for ${type}`);
  return c;
}

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Terraform JSON attributes as provider-class props (snake_case to camelCase, metadata dropped). */
function props(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(props);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== "//" && k !== "lifecycle")
        .map(([k, v]) => [camel(k), props(v)]),
    );
  }
  return value;
}

/** The providers and resources of a synthesized cdk.tf.json, as hand-written constructor calls. */
export function handWrittenPlan(cdkTfJson: string): HandWrittenPlan {
  type Blocks = Record<string, Record<string, Record<string, unknown>>>;
  const tf = JSON.parse(cdkTfJson) as { provider?: Record<string, Record<string, unknown>[]>; resource?: Blocks; data?: Blocks };
  const providers = Object.entries(tf.provider ?? {}).flatMap(([type, list]) =>
    list.map((p) => {
      const [module, className] = classOf(type);
      const alias = typeof p.alias === "string" ? p.alias : undefined;
      return {
        module,
        className,
        id: `${type}-${alias ?? "default"}`,
        provider: alias ? `${type}.${alias}` : type,
        props: props(p) as Record<string, unknown>,
      };
    }),
  );
  const resources = [...Object.entries(tf.data ?? {}), ...Object.entries(tf.resource ?? {})].flatMap(([type, byId]) =>
    Object.entries(byId).map(([id, attributes]) => {
      const [module, className] = classOf(type);
      const { provider, ...rest } = attributes;
      return { module, className, id, provider: typeof provider === "string" ? provider : type.split("_")[0]!, props: props(rest) as Record<string, unknown> };
    }),
  );
  return { providers, resources };
}
