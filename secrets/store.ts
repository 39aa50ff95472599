/**
 * The local secrets directory: key material the kit generates (DERP mesh keys, private keys of
 * self-signed certificates, pre-auth keys) lives in `.cdktf-tailnet-secrets/<tailnet>/`, mode 0700,
 * each file 0600 and written atomically (fsx/atomic-file.ts), git-ignored. Terraform gets paths
 * and hashes, never the bytes, so no secret reaches cdk.tf.json, rendered output or logs. A
 * secret is created once and reused on every synth, so deploys are stable.
 *
 * Every file is named by its kind (a folder) and its identifier (the file name, encoded by
 * escape/path.ts), so no two things share one file and no name leads out of the directory:
 *
 * | file | holds |
 * | --- | --- |
 * | `derp-mesh/<region code>.key` | a region's mesh key |
 * | `derp-cert/<node>.crt`, `.key` | a DERP node's kit-issued self-signed certificate and key |
 * | `preauth-device/<device>.key`, `preauth-user/<user>.key` | pre-auth keys (`cdktf-tailnet bootstrap`) |
 *
 * Files of the earlier flat layout (`derp-mesh-<code>.key`, `derp-<node>.crt`/`.key`) are moved to
 * their new names the first time they are asked for, when their content is what the new name
 * holds (a mesh key is 64 hex digits; a certificate's key matches it), so a node named
 * `mesh-hkg` never takes over region hkg's mesh key, nor the reverse.
 */
import { X509Certificate, createHash, createPrivateKey, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { writeFileAtomic } from "../fsx/atomic-file.js";
import { isIp } from "../model/net.js";
import { fileNamePart, joinInside } from "../render/escape/path.js";
import { issueSelfSigned } from "./x509.js";

/** A kit-issued certificate on disk. */
export interface IssuedCertificate {
  /** Certificate (PEM, 0644: public). */
  readonly certFile: string;
  /** Private key (PEM, 0600). */
  readonly keyFile: string;
  /** The certificate's DER bytes (what the pin is computed over). */
  readonly der: Buffer;
}

/** Where a secret lives and a hash of it (safe to publish: the secret has 256 bits). */
export interface SecretFile {
  /** Absolute path of the 0600 file. */
  readonly path: string;
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
}

/** The kinds of secrets, each a folder of the store. */
export type SecretKind = "derp-mesh" | "derp-cert" | "preauth-device" | "preauth-user";

/** Default root of the secrets directory: `$CDKTF_TAILNET_SECRETS_DIR`, else `./.cdktf-tailnet-secrets`. */
export function defaultSecretsRoot(): string {
  return resolve(process.env.CDKTF_TAILNET_SECRETS_DIR ?? ".cdktf-tailnet-secrets");
}

const MESH_KEY = /^[0-9a-f]{64}\n?$/;

/** A tailnet's secrets directory. */
export class SecretStore {
  readonly dir: string;

  constructor(tailnetName: string, root: string = defaultSecretsRoot()) {
    this.dir = joinInside(root, fileNamePart(tailnetName));
  }

  /** The store's name (relative path) of the secret of `kind` for `id`, e.g. `derp-mesh/hkg.key`. */
  static nameOf(kind: SecretKind, id: string, extension: string): string {
    return `${kind}/${fileNamePart(id)}${extension}`;
  }

  #ensureDir(path: string): void {
    for (const dir of [this.dir, dirname(path)]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    }
  }

  /**
   * A DERP mesh key for a region (64 lower-case hex characters, as derper's -mesh-psk-file
   * expects), created on first use.
   */
  meshKey(regionCode: string): SecretFile {
    const name = SecretStore.nameOf("derp-mesh", regionCode, ".key");
    this.#adopt([[`derp-mesh-${regionCode}.key`, name]], ([file]) => MESH_KEY.test(readFileSync(file!, "utf8")));
    return this.#getOrCreate(name, () => `${randomBytes(32).toString("hex")}\n`);
  }

  /**
   * The self-signed certificate of DERP node `node` for `name`: reused while it is for `name`
   * and more than `reissueBeforeDays` days of validity are left, else issued anew.
   */
  selfSignedCertificate(node: string, name: string, days: number, reissueBeforeDays: number, now: Date = new Date()): IssuedCertificate {
    const certFile = this.path(SecretStore.nameOf("derp-cert", node, ".crt"));
    const keyFile = this.path(SecretStore.nameOf("derp-cert", node, ".key"));
    this.#adopt(
      [
        [`derp-${node}.crt`, SecretStore.nameOf("derp-cert", node, ".crt")],
        [`derp-${node}.key`, SecretStore.nameOf("derp-cert", node, ".key")],
      ],
      ([crt, key]) => new X509Certificate(readFileSync(crt!)).checkPrivateKey(createPrivateKey(readFileSync(key!))),
    );
    if (existsSync(certFile) && existsSync(keyFile)) {
      this.#checkPrivate(keyFile);
      const cert = new X509Certificate(readFileSync(certFile));
      const fresh = new Date(cert.validTo).getTime() - now.getTime() > reissueBeforeDays * 86400_000;
      // checkIP throws on anything but an IP literal: a DNS name is checked with checkHost alone.
      const forName = (isIp(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined;
      if (fresh && forName) return { certFile, keyFile, der: cert.raw };
    }
    this.#ensureDir(keyFile);
    const issued = issueSelfSigned(name, days, now);
    // Key first, then certificate: a crash in between leaves a key without a matching certificate,
    // which the next run replaces.
    writeFileAtomic(keyFile, issued.keyPem, 0o600);
    writeFileAtomic(certFile, issued.certPem, 0o644);
    return { certFile, keyFile, der: issued.der };
  }

  /** Path of a secret file in this store (it may not exist yet); `name` may not lead out of the store. */
  path(name: string): string {
    return joinInside(this.dir, name);
  }

  /** Reads a secret file, or undefined when it does not exist. */
  read(name: string): string | undefined {
    const path = this.path(name);
    if (!existsSync(path)) return undefined;
    this.#checkPrivate(path);
    return readFileSync(path, "utf8");
  }

  /** Writes a secret file atomically, mode 0600 (its folder 0700); returns its path. */
  write(name: string, content: string): string {
    const path = this.path(name);
    this.#ensureDir(path);
    writeFileAtomic(path, content, 0o600);
    return path;
  }

  /**
   * Moves files of the earlier flat layout (`[old name, new name]` pairs) to their new names, all
   * or none, when none of the new ones exists yet and `holds` accepts the old files' content.
   * An old name that would lead out of the store is ignored.
   */
  #adopt(moves: readonly (readonly [string, string])[], holds: (oldPaths: string[]) => boolean): void {
    let pairs: [string, string][];
    try {
      pairs = moves.map(([from, to]) => [this.path(from), this.path(to)]);
    } catch {
      return;
    }
    if (pairs.some(([from, to]) => existsSync(to) || !existsSync(from) || !statSync(from).isFile())) return;
    try {
      if (!holds(pairs.map(([from]) => from))) return;
    } catch {
      return; // not what the new name holds: left where it is
    }
    for (const [from, to] of pairs) {
      this.#ensureDir(to);
      renameSync(from, to);
    }
  }

  #checkPrivate(path: string): void {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new Error(`${path} is readable by others (mode 0${mode.toString(8)}); run: chmod 600 ${path}`);
  }

  #getOrCreate(name: string, create: () => string): SecretFile {
    const path = this.path(name);
    if (!existsSync(path)) {
      this.#ensureDir(path);
      writeFileAtomic(path, create(), 0o600);
    }
    this.#checkPrivate(path);
    return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
  }
}
