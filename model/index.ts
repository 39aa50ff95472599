/**
 * The tailnet model: spec types, validation, resolution. Pure: no I/O, no cdktf.
 *
 * ```ts
 * import { loadTailnet } from "cdktf-tailnet/model";
 * const tailnet = loadTailnet(spec); // throws TailnetSpecError listing every problem
 * ```
 */
import { TailnetSpecError } from "./issues.js";
import type { ResolvedTailnet } from "./resolved.js";
import { parseTailnetYaml } from "./spec-text.js";
import { validate } from "./validate.js";

export * from "./issues.js";
export type * from "./resolved.js";
export { resolve, TAILSCALE_PUBLIC_DERP_MAP_URL } from "./resolve.js";
export {
  ACME_PATHS,
  BACKUP_PATHS,
  DDNS_PATHS,
  DEFAULT_HEADSCALE_PATHS,
  DERPER_PATHS,
  derperCertFileBase,
  DNS_SECRET_FILES,
  HEADSCALE_STATE_FILES,
  HOST_CONFIG_DIR,
  RESTIC_SECRET_FILES,
  VM_PATHS,
  type DerperFiles,
} from "./paths.js";
export { DEFAULTS, HTTP_PORT, HTTPS_PORT } from "./defaults.js";
export type * from "./spec.js";
export { isUnresolvedToken } from "./tokens.js";
export { DEFAULT_MAX_SPEC_BYTES, MAX_YAML_ALIAS_COUNT, parseTailnetYaml, SpecFileError } from "./spec-text.js";
export { GRAMMARS, type Grammar, type GrammarName } from "./grammar.js";
export { validate, type ValidationResult } from "./validate.js";
export { DEFAULT_DERPER_VERSION } from "./derp.js";
export { ANYWHERE, DEFAULT_GO_VERSION, DEFAULT_SSH_PORT, goDownloadUrl, headscaleReleaseUrl } from "./vm.js";
export * from "./versions.js";
export * from "./advisories.js";
export * from "./tailscale-releases.js";

/** Options of {@link loadTailnet} when it is given spec text. */
export interface LoadOptions {
  /** What the text is called in errors. @default "the tailnet spec" */
  readonly source?: string;
  /** The largest text accepted, in bytes. @default DEFAULT_MAX_SPEC_BYTES (4 MiB) */
  readonly maxBytes?: number;
}

/**
 * The one way from a spec to a resolved model: spec text (YAML or JSON) is parsed strictly
 * ({@link parseTailnetYaml}: YAML 1.2 core schema, duplicate keys and alias bombs refused), then
 * the spec is validated and resolved. Throws a SpecFileError for text that is not a spec, a
 * TailnetSpecError listing every problem of a spec. Deploying needs the secrets step after it:
 * `prepare()` in cdktf-tailnet/secrets (or `prepareTailnet()`, both in one call).
 */
export function loadTailnet(specOrText: unknown, options: LoadOptions = {}): ResolvedTailnet {
  const spec = typeof specOrText === "string" ? parseTailnetYaml(specOrText, options.source ?? "the tailnet spec", options.maxBytes) : specOrText;
  const result = validate(spec);
  if (!result.ok) throw new TailnetSpecError(result.issues);
  return result.resolved;
}
export { relocateHeadscale, type HeadscaleRelocation } from "./relocate.js";
export { DEFAULT_RENEW_DAYS_BEFORE, LETS_ENCRYPT_DIRECTORY } from "./acme.js";
export { CLOUDFLARE_API_URL, DEFAULT_DDNS_IPV4_URL, DNS_SECRET_ENV, serviceNamesOf } from "./ddns.js";
export { allNodes, hostNamed, listenerOwners, nodeNamed, nodesOfHost, regionOfNode } from "./walk.js";
export { sameSubject } from "./warnings.js";
export { backupNames, beforeStartArgs, RESTIC_CREDENTIAL_NAMES } from "./backup.js";
