/** The baseline for the synth benchmark: an empty cdktf app, synthesized the same way. */
import { App, TerraformStack } from "cdktf";

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? "cdktf.out" });
new TerraformStack(app, "empty");
app.synth();
