/** Synthesizing stacks in tests: a fresh app per call, secrets in a temporary directory. */
import { Testing, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { scratchDir } from "./scratch.js";

/** A temporary secrets root, so tests never touch the working tree's secrets. */
export function tempSecretsDir(): string {
  return scratchDir("cdktf-tailnet-secrets-");
}

export type TfJson = {
  resource: Record<string, Record<string, Record<string, any>>>;
  provider: Record<string, Record<string, any>[]>;
  data?: Record<string, Record<string, Record<string, any>>>;
  variable?: Record<string, Record<string, any>>;
};

/** A test app whose output directory is removed after the test file (Testing.app()'s own is not). */
export function testApp(): ReturnType<typeof Testing.app> {
  return Testing.app({ outdir: scratchDir("cdktf-tailnet-synth-") });
}

/** Builds a stack with `build`, synthesizes it, returns the JSON text and the stack. */
export function synthStack(build: (stack: Construct) => void): { text: string; json: TfJson; stack: TerraformStack } {
  const app = testApp();
  const stack = new TerraformStack(app, "test");
  build(stack);
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) as TfJson, stack };
}

/**
 * Resources of one type, keyed by logical id without cdktf's hash suffix: the construct path
 * joined by `_` (stable and readable in assertions), e.g. `tailnet_region-hkg_hkg-1`.
 */
export function byPath(json: TfJson, type: string): Record<string, Record<string, any>> {
  return Object.fromEntries(Object.entries(json.resource[type] ?? {}).map(([id, r]) => [id.replace(/_[0-9A-F]{8}$/, ""), r]));
}
