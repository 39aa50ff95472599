/**
 * A TypeScript entry point bundled into one runnable file (esbuild, every npm package inside but
 * tsx), for tests that run the CLI or a driver as a process, and kill it: `node <file>` starts in
 * a fraction of tsx's time and needs no `npm run build`.
 */
import { join } from "node:path";
import { build } from "esbuild";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Bundles `entry` (relative to the package root) into `dir`; returns the file to run with node. */
export async function bundle(entry: string, dir: string): Promise<string> {
  const outfile = join(dir, `${entry.replace(/[/.]/g, "-")}.mjs`);
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: ["tsx", "tsx/*"],
    // Bundled CommonJS packages (yaml, handlebars) call require, which an ES module lacks.
    banner: { js: 'import { createRequire as __cdktfTailnetRequire } from "node:module"; const require = __cdktfTailnetRequire(import.meta.url);' },
    logLevel: "warning",
  });
  return outfile;
}
