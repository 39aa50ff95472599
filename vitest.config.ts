import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// Keys and certificates the kit issues during tests go to a scratch directory, never the work tree.
// (Set in this process too, so the global teardown can remove it.)
const secretsDir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-test-secrets-"));
process.env.CDKTF_TAILNET_SECRETS_DIR = secretsDir;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real headscale processes; give them room, but keep runs bounded.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    env: { CHECKPOINT_DISABLE: "1", CDKTF_TAILNET_SECRETS_DIR: secretsDir },
    globalSetup: ["test/support/global-setup.ts"],
  },
});
