/**
 * The kit's own installation directory (where package.json, templates/ and schema/ are), found
 * by walking up from this module: the same code runs from source (tsx, vitest) and from dist/.
 * The one place that finds it. It reads files, so it lives in fsx/, not in the pure render/.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "cdktf-tailnet") {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cdktf-tailnet: cannot find the package's own package.json");
    dir = parent;
  }
}
