/**
 * File errors in words: what went wrong with which path, and the fix, instead of Node's
 * `ENOENT: no such file or directory, open '…'`.
 */

/** What a file operation was for: the message says "cannot <doing> <path>". */
export interface FileAction {
  /** E.g. `read the spec`, `write`, `read the CA file`. */
  readonly doing: string;
  /** Whether the path is read or written (the permission fix differs). */
  readonly access: "read" | "write";
  /** A better fix for a missing file than the general one, e.g. naming the option to correct. */
  readonly missingFix?: string;
}

interface Explanation {
  readonly words: string;
  fix(path: string, action: FileAction): string;
}

const EXPLANATIONS: Readonly<Record<string, Explanation>> = {
  ENOENT: { words: "no such file or directory", fix: (path, a) => a.missingFix ?? `check the path (${path} does not exist)` },
  EACCES: {
    words: "permission denied",
    fix: (path, a) =>
      `make ${path} ${a.access === "read" ? "readable" : "writable"} by this user (and its directories searchable), or run as a user who may ${a.access} it`,
  },
  EPERM: { words: "operation not permitted", fix: (path) => `check the owner and attributes of ${path}, or run as a user who may change it` },
  EISDIR: {
    words: "is a directory",
    fix: (path, a) => (a.access === "read" ? `give the file inside ${path}, not the directory` : `move the directory ${path} away, or choose another path`),
  },
  ENOTDIR: { words: "a part of the path is not a directory", fix: () => "check the path: one of its directories is a file" },
  ELOOP: { words: "too many levels of symbolic links", fix: () => "check the symbolic links in the path: one points back to itself" },
  ENAMETOOLONG: { words: "the name is too long", fix: () => "use a shorter path" },
  EROFS: { words: "read-only file system", fix: () => "choose a path on a writable file system" },
  ENOSPC: { words: "no space left on the device", fix: () => "free some space on that file system, or choose a path on another" },
  EDQUOT: { words: "disk quota exceeded", fix: () => "free some space within your quota, or choose a path on another file system" },
  EMFILE: { words: "too many open files", fix: () => "raise the open-file limit (ulimit -n) and run again" },
  ENFILE: { words: "too many open files on the system", fix: () => "close other programs and run again" },
  EEXIST: { words: "already exists", fix: (path) => `move ${path} away, or choose another path` },
  ENOTEMPTY: { words: "the directory is not empty", fix: (path) => `move what is in ${path} away, or choose another path` },
  EBUSY: { words: "busy (in use, or a mount point)", fix: () => "stop what uses it, or choose another path" },
  EXDEV: { words: "on another file system", fix: () => "keep the path on one file system" },
  EIO: { words: "input/output error", fix: () => "check the disk (dmesg) and run again" },
};

/** Node's system calls as the words of a message. */
const DOING: Readonly<Record<string, FileAction>> = {
  open: { doing: "open", access: "read" },
  read: { doing: "read", access: "read" },
  scandir: { doing: "list the directory", access: "read" },
  stat: { doing: "look at", access: "read" },
  lstat: { doing: "look at", access: "read" },
  access: { doing: "look at", access: "read" },
  readlink: { doing: "read the link", access: "read" },
  mkdir: { doing: "create the directory", access: "write" },
  write: { doing: "write", access: "write" },
  rename: { doing: "rename", access: "write" },
  unlink: { doing: "delete", access: "write" },
  rmdir: { doing: "delete the directory", access: "write" },
  rm: { doing: "delete", access: "write" },
  chmod: { doing: "change the mode of", access: "write" },
  copyfile: { doing: "copy", access: "write" },
  mkdtemp: { doing: "create a directory in", access: "write" },
};

/** True when `e` is a file error this module can put in words. */
export function isFileError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && code in EXPLANATIONS;
}

/**
 * `cannot <doing> <path>: <words>` and, on the next line, the fix; `path` and `action` default
 * to what the error itself records.
 */
export function describeFileError(e: NodeJS.ErrnoException & { code: string }, path?: string, action?: FileAction): string {
  const explanation = EXPLANATIONS[e.code]!;
  const where = path ?? e.path ?? "a file";
  const what = action ?? DOING[e.syscall ?? ""] ?? { doing: "use", access: "write" };
  return `cannot ${what.doing} ${where}: ${explanation.words}\n  fix: ${explanation.fix(where, what)}`;
}
