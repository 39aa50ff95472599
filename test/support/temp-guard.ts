/**
 * The guard that no test leaves files behind (test/support/global-setup.ts runs it around the
 * whole run). Every test, and every process a test starts, gets a private temp dir ($TMPDIR, set
 * in vitest.config.ts) that must be empty again when the run ends, and the cache must hold no
 * new `.build-*` scratch folder. New kit-named entries in the system temp dir (a process that
 * ignored $TMPDIR) are reported too, as suspects only: another run may have made them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Names the kit and its tests give their temporary files and folders, and tsx's cache
 * (`tsx-<uid>`), which a TypeScript child process started without the run's TMPDIR and
 * TSX_DISABLE_CACHE would leave.
 */
export const KIT_TEMP_NAMES = /^(cdktf[-.]|tailnet-lab-|hs-it-|hs-up-|lab-(test|state|changes)-|tsx-[0-9]+$)/;

/** Private temp dirs of test runs (each removed by its own run's teardown). */
export const RUN_TEMP_PREFIX = "cdktf-tailnet-test-run-";

const cacheDir = () => process.env.CDKTF_TAILNET_CACHE ?? join(homedir(), ".cache", "cdktf-tailnet");

/** What the guard compares: the kit-named entries of the system temp dir, and the cache's scratch folders. */
export interface TempSnapshot {
  readonly systemTemp: readonly string[];
  readonly cacheScratch: readonly string[];
}

function list(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** The entries the guard watches now. */
export function takeSnapshot(systemTemp: string): TempSnapshot {
  return {
    systemTemp: list(systemTemp).filter((e) => KIT_TEMP_NAMES.test(e) && !e.startsWith(RUN_TEMP_PREFIX)),
    cacheScratch: ["bin", "images"].flatMap((sub) =>
      list(join(cacheDir(), sub))
        .filter((e) => e.startsWith(".build-"))
        .map((e) => join(cacheDir(), sub, e)),
    ),
  };
}

/** Every file under `path` (itself when it is one), as paths relative to `path`. */
function filesUnder(path: string, prefix = ""): string[] {
  const full = join(path, prefix);
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) return [prefix];
  return readdirSync(full).flatMap((e) => filesUnder(path, prefix ? join(prefix, e) : e));
}

function looksLikePrivateKey(file: string): boolean {
  try {
    return lstatSync(file).isFile() && readFileSync(file, "utf8").includes("PRIVATE KEY");
  } catch {
    return false;
  }
}

/** One line per leftover: its name, how many files it holds, and which of them are private keys. */
function describe(dir: string, entry: string): string {
  const path = join(dir, entry);
  const files = filesUnder(path).filter(Boolean);
  const keys = files.filter((f) => looksLikePrivateKey(join(path, f)));
  const isDir = lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  return `  ${path}${isDir ? `/ (${files.length} file${files.length === 1 ? "" : "s"})` : ""}${keys.length > 0 ? `, PRIVATE KEYS: ${keys.join(", ")}` : ""}`;
}

/** Whether another process holds scripts/build-upstream.sh's lock (a build is running: its `.build-*` folders are its own). */
function upstreamBuildRunning(): boolean {
  const lock = join(cacheDir(), "bin", ".lock");
  if (!existsSync(lock)) return false;
  return spawnSync("flock", ["-n", lock, "true"]).status !== 0;
}

/** What a run left behind. */
export interface Leftovers {
  /** Certainly this run's: everything left in its private temp dir (removed by `leftovers`). */
  readonly failures: readonly string[];
  /**
   * New since the run started but perhaps another run's (runs of other checkouts share the
   * system temp dir and the cache): kit-named entries of the system temp dir, and `.build-*`
   * folders in the cache while no upstream build is running.
   */
  readonly suspects: readonly string[];
}

/** What the run left: the private temp dir's content (then removed, so nothing piles up) and new kit-named entries elsewhere. */
export function leftovers(runTemp: string, systemTemp: string, before: TempSnapshot): Leftovers {
  const failures: string[] = [];
  const inRun = list(runTemp).sort();
  if (inRun.length > 0) failures.push(`in the run's private temp dir (removed now):`, ...inRun.map((e) => describe(runTemp, e)));
  rmSync(runTemp, { recursive: true, force: true });
  const suspects: string[] = [];
  const after = takeSnapshot(systemTemp);
  const newInSystem = after.systemTemp.filter((e) => !before.systemTemp.includes(e)).sort();
  if (newInSystem.length > 0) suspects.push(`in ${systemTemp}, named like the kit's:`, ...newInSystem.map((e) => describe(systemTemp, e)));
  const newScratch = after.cacheScratch
    .filter((e) => !before.cacheScratch.includes(e) && !(e.startsWith(join(cacheDir(), "bin")) && upstreamBuildRunning()))
    .sort();
  if (newScratch.length > 0) failures.push("scratch folders in the cache:", ...newScratch.map((e) => `  ${e}/`));
  return { failures, suspects };
}
