/**
 * The local secrets directory: key material the kit generates (DERP mesh keys; later private
 * keys of self-signed certificates) lives in `.cdktf-tailnet-secrets/<tailnet>/`, mode 0700,
 * each file 0600, git-ignored. Terraform gets paths and hashes, never the bytes, so no secret
 * reaches cdk.tf.json, rendered output or logs. A secret is created once and reused on every
 * synth, so deploys are stable.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where a secret lives and a hash of it (safe to publish: the secret has 256 bits). */
export interface SecretFile {
  /** Absolute path of the 0600 file. */
  readonly path: string;
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
}

/** Default root of the secrets directory: `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`. */
export function defaultSecretsRoot(): string {
  return resolve(process.env.CDKTF_TAILNET_SECRETS_DIR ?? ".cdktf-tailnet-secrets");
}

/** A tailnet's secrets directory. */
export class SecretStore {
  readonly dir: string;

  constructor(tailnetName: string, root: string = defaultSecretsRoot()) {
    this.dir = join(root, tailnetName);
  }

  #ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  /**
   * A DERP mesh key for a region (64 lower-case hex characters, as derper's -mesh-psk-file
   * expects), created on first use.
   */
  meshKey(regionCode: string): SecretFile {
    return this.#getOrCreate(`derp-mesh-${regionCode}.key`, () => `${randomBytes(32).toString("hex")}\n`);
  }

  #getOrCreate(name: string, create: () => string): SecretFile {
    const path = join(this.dir, name);
    if (!existsSync(path)) {
      this.#ensureDir();
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, create(), { mode: 0o600 });
      renameSync(tmp, path);
    }
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new Error(`${path} is readable by others (mode 0${mode.toString(8)}); run: chmod 600 ${path}`);
    return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
  }
}
