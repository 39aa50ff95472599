/** Runs once around the whole test run: removes the run's scratch secrets directory at the end. */
import { rmSync } from "node:fs";

export default function setup(): () => void {
  return () => {
    const dir = process.env.CDKTF_TAILNET_SECRETS_DIR;
    if (dir?.includes("cdktf-tailnet-test-secrets-")) rmSync(dir, { recursive: true, force: true });
  };
}
