import { chmodSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";
import { RUN_TEMP_PREFIX } from "./test/support/temp-guard.js";

// Every test, and every process a test starts, writes its temporary files into a private temp
// dir ($TMPDIR) that the global teardown (test/support/global-setup.ts) requires to be empty
// at the end: a test that leaves a file behind fails the run. Keys and certificates the kit
// issues during tests go to a scratch directory inside it, never the work tree.
// (Set in this process too, so globalSetup sees them.)
const systemTemp = process.env.CDKTF_TAILNET_SYSTEM_TEMP ?? tmpdir();
const runTemp = process.env.CDKTF_TAILNET_RUN_TEMP ?? mkdtempSync(join(systemTemp, RUN_TEMP_PREFIX));
// Searchable, not listable, by other users: tests run programs as other users (nobody, a
// container's user) on files they put in their own scratch directories.
chmodSync(runTemp, 0o711);
const secretsDir = join(runTemp, "secrets");
mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
const env = {
  TMPDIR: runTemp,
  CDKTF_TAILNET_SYSTEM_TEMP: systemTemp,
  CDKTF_TAILNET_RUN_TEMP: runTemp,
  CDKTF_TAILNET_SECRETS_DIR: secretsDir,
  // tsx (which tests use to run TypeScript in child processes) would keep a cache in the temp dir.
  TSX_DISABLE_CACHE: "1",
};
Object.assign(process.env, env);

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real headscale processes; give them room, but keep runs bounded.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    env: { CHECKPOINT_DISABLE: "1", ...env },
    globalSetup: ["test/support/global-setup.ts"],
  },
});
