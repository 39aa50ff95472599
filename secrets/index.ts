/**
 * Local secrets and certificates: the only part of the pipeline besides the CLI that touches the
 * file system. `prepareTailnet` is validate + resolve + certificates in one call.
 */
import { loadTailnet, type ResolvedTailnet } from "../model/index.js";
import { materializeCertificates } from "./certificates.js";
import { SecretStore } from "./store.js";

export { checkCertificateFiles, checkTailnetCertificates, materializeCertificates, REISSUE_BEFORE_DAYS } from "./certificates.js";
export { checkLocalFiles } from "./local-files.js";
export { defaultSecretsRoot, SecretStore, type IssuedCertificate, type SecretFile } from "./store.js";
export { certificatePin, issueCertificate, issueSelfSigned, type CertificateRequest, type KitCertificate } from "./x509.js";

/** Options of {@link prepareTailnet}. */
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
 * Validates and resolves a spec, then issues or checks its certificates: the model every
 * renderer and construct needs. Throws a TailnetSpecError listing every problem.
 */
export function prepareTailnet(spec: unknown, options: PrepareOptions = {}): ResolvedTailnet {
  const tailnet = loadTailnet(spec);
  return materializeCertificates(tailnet, new SecretStore(tailnet.name, options.secretsDir), options.now);
}
