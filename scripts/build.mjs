// `npm run build`: type declarations from tsc, then the JavaScript from esbuild, which bundles
// the package's entry points into a few ES modules: the library, the model and render entry points, the CLI, main.ts and the
// benchmarks, sharing chunks, with every npm package left external. Loading 5 files instead of
// ~60 makes each synth and CLI start measurably faster (see `npm run bench`), most of all under
// loaders such as tsx that hook every module. Deterministic: the same sources give the same bytes.
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";

const require = createRequire(import.meta.url);
rmSync("dist", { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json", "--emitDeclarationOnly"], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const entryPoints = [
  "constructs/index.ts",
  "model/index.ts",
  "render/index.ts",
  "secrets/index.ts",
  "cli/bin.ts",
  "main.ts",
  ...readdirSync("bench")
    .filter((f) => f.endsWith(".ts"))
    .map((f) => `bench/${f}`),
];

await build({
  entryPoints,
  outdir: "dist",
  outbase: ".",
  entryNames: "[dir]/[name]",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["cdktf", "constructs", "@cdktf/*", "execa", "tsx", "tsx/*"],
  legalComments: "none",
  // yaml is bundled (one file instead of ~100 CommonJS modules), and its require("process")
  // needs a real require in an ES module.
  banner: { js: 'import { createRequire as __cdktfTailnetRequire } from "node:module"; const require = __cdktfTailnetRequire(import.meta.url);' },
  logLevel: "warning",
});
