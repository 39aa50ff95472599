/**
 * What Terraform makes of strings in a `.tf.json`: each becomes an output, applied with the
 * built-in state only (no provider, nothing leaves the machine), and read back with
 * `terraform output -json`.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./scratch.js";

/** Applies outputs `values` (as written into JSON) and `keyed` (each a map with one key, as written), and returns what Terraform read. */
export function terraformOutputs(values: readonly string[], keys: readonly string[] = []): { values: string[]; keys: string[] } {
  const dir = scratchDir("cdktf-tailnet-tf-");
  const output: Record<string, { value: unknown }> = {};
  values.forEach((v, i) => {
    output[`v${i}`] = { value: v };
  });
  keys.forEach((k, i) => {
    output[`k${i}`] = { value: { [k]: "x" } };
  });
  writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ output }));
  const env = { ...process.env, TF_IN_AUTOMATION: "1", TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1" };
  for (const args of [
    ["init", "-input=false", "-no-color"],
    ["apply", "-auto-approve", "-input=false", "-no-color"],
  ]) {
    const r = spawnSync("terraform", args, { cwd: dir, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`terraform ${args[0]} failed:\n${r.stdout}\n${r.stderr}`);
  }
  const r = spawnSync("terraform", ["output", "-json"], { cwd: dir, env, encoding: "utf8", maxBuffer: 1 << 26 });
  const read = JSON.parse(r.stdout) as Record<string, { value: unknown }>;
  return { values: values.map((_, i) => read[`v${i}`]!.value as string), keys: keys.map((_, i) => Object.keys(read[`k${i}`]!.value as object)[0]!) };
}
