/**
 * Writing a file atomically: the one writer the kit uses wherever a file must be whole or absent,
 * never half written, even when the process is killed or the machine loses power (secrets and
 * kit-issued keys and certificates, the lab's run records and certificates). A whole output tree
 * is written by cli/write-tree.ts, which flushes with {@link syncPath} from here too.
 *
 * The content goes to a temporary file beside the target (same folder, so the rename stays on
 * one file system) with an unguessable name, created exclusively (never through a link someone
 * put there) with its final mode from the start, so a key is never readable by others, not even
 * for a moment; it is flushed to disk, renamed over the target, and the folder is flushed so the
 * rename survives a crash. On any error the temporary file is removed and the target is as it was.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Flushes a file, or a folder's entries (creations, renames), to disk. */
export function syncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `content` atomically, the file's mode exactly `mode` (e.g. 0o600 for a
 * secret: set when the file is created, and not narrowed or widened by the umask). The folder
 * must exist.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode: number): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(12).toString("hex")}.tmp`);
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    created = true;
    fchmodSync(fd, mode);
    writeFileSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    if (created) rmSync(tmp, { force: true });
    throw e;
  }
  syncPath(dir);
}
