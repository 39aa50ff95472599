/**
 * Local secrets and certificates: the only part of the pipeline besides the CLI that touches the
 * file system. `prepare` turns a resolved model into the PreparedTailnet renderers and constructs
 * require; `prepareTailnet` is parse + validate + resolve + prepare in one call.
 */
import { loadTailnet, type LoadOptions, type PreparedTailnet, type ResolvedTailnet } from "../model/index.js";
import { materializeCertificates } from "./certificates.js";
import { SecretStore } from "./store.js";

export { checkCertificateFiles, checkTailnetCertificates, REISSUE_BEFORE_DAYS } from "./certificates.js";
export { checkLocalFiles } from "./local-files.js";
export { defaultSecretsRoot, SecretStore, type IssuedCertificate, type SecretFile } from "./store.js";
export { certificatePin, issueCertificate, issueSelfSigned, type CertificateRequest, type KitCertificate } from "./x509.js";

/** Options of {@link prepare} and {@link prepareTailnet}. */
export interface PrepareOptions {
  /**
   * Root of the local secrets directory.
   * @default - `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`
   */
  readonly secretsDir?: string;
  /** The time certificates are checked and issued at. @default - now */
  readonly now?: Date;
}

/**
 * The secrets step: issues or reuses the model's kit-issued certificates (pins filled in) and
 * checks the files the spec names on this machine. The result is the PreparedTailnet every
 * renderer and construct requires. Throws a TailnetSpecError listing every problem, before
 * anything is issued.
 */
export function prepare(tailnet: ResolvedTailnet, options: PrepareOptions = {}): PreparedTailnet {
  return materializeCertificates(tailnet, new SecretStore(tailnet.name, options.secretsDir), options.now);
}

/**
 * `loadTailnet` then `prepare`, in one call: spec text is parsed strictly, the spec validated and
 * resolved, its secrets materialized. Throws a SpecFileError or a TailnetSpecError listing every problem.
 */
export function prepareTailnet(specOrText: unknown, options: PrepareOptions & LoadOptions = {}): PreparedTailnet {
  return prepare(loadTailnet(specOrText, options), options);
}
