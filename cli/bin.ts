#!/usr/bin/env node
/** Entry point of the `cdktf-tailnet` command. */
import { runCli } from "./main.js";

// A reader that stops early (`cdktf-tailnet versions | head`) is not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await runCli(process.argv.slice(2));
