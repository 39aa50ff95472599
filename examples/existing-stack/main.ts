/**
 * `npx cdktf synth` (or `diff` / `deploy`) in this folder synthesizes the worked example into
 * ./cdktf.out: a coordination server and a DERP region added to a stack that owns its VMs.
 */
import { App } from "cdktf";
import { ExistingStack } from "./stack.js";

const app = new App();
new ExistingStack(app, "existing-stack");
app.synth();
