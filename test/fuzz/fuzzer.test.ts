/**
 * The fuzzer end to end on a careless renderer: a value written into a unit and a shell script
 * without escaping is caught (and reported as field x payload x file x what changed), the same
 * value written through JSON.stringify is not. So "0 structure changes" from the real renderers
 * means something.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import schemaJson from "../../schema/tailnet.schema.json" with { type: "json" };
import type { PreparedTailnet } from "../../model/index.js";
import { publicFile, renderTailnet } from "../../render/index.js";
import { minimalSpec } from "../support/specs.js";
import { upstreamSkipReason } from "../support/upstream.js";
import { fuzz, type FuzzResult } from "./fuzzer.js";
import { findingRows, report } from "./report.js";
import type { Schema } from "./schema-fields.js";

/** Writes the first region's name into a unit and a script as it is, and into JSON escaped. */
function careless(tailnet: PreparedTailnet) {
  const name = tailnet.derp.regions[0]!.name;
  return [
    ...renderTailnet(tailnet),
    publicFile("hosts/x/systemd/x.service", `[Unit]\nDescription=${name}\n\n[Service]\nExecStart=/bin/echo ${name}\n`),
    publicFile("hosts/x/run.sh", `#!/bin/sh\necho ${name}\n`),
    publicFile("hosts/x/careful.json", JSON.stringify({ name })),
  ];
}

describe.skipIf(upstreamSkipReason)("the fuzzer on a careless renderer", () => {
  let work: string;
  let result: FuzzResult;
  const tmp = process.env.TMPDIR;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cdktf-tailnet-fuzz-teeth-"));
    mkdirSync(join(work, "tmp"));
    process.env.TMPDIR = join(work, "tmp");
    result = await fuzz({
      schema: schemaJson as unknown as Schema,
      fixtures: [{ name: "minimal", spec: () => minimalSpec() }],
      workDir: join(work, "run"),
      only: (pattern) => pattern === "derp.regions[].name",
      render: careless,
    });
  }, 300_000);
  afterAll(() => {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
    rmSync(work, { recursive: true, force: true });
  });

  it("catches a specifier and a broken argument in the unit, and a command injected into the script", () => {
    const rows = findingRows(result.runs);
    const at = (file: string, payload: string) => rows.find((r) => r.file === file && r.payload === payload)?.what;
    // The grammar of a region's name (one line of free text) lets these through; line breaks it refuses.
    expect(at("hosts/x/systemd/x.service", "%h (embedded)")).toBe(
      "+ [Unit] Description specifiers=1 | + [Service] ExecStart specifiers=1 words=2 | - [Unit] Description | (+1 more)",
    );
    expect(at("hosts/x/systemd/x.service", "dquote (embedded)")).toMatch(
      /^\+ \[Service\] ExecStart words: unterminated " \| - \[Service\] ExecStart words=2 \| systemd-analyze verify: /,
    );
    expect(at("hosts/x/run.sh", "semicolon (embedded)")).toBe("+ {Cmd:Call(cmd:x)}");
    expect(at("hosts/x/run.sh", "$(id) (embedded)")).toMatch(/CmdSubst/);
    expect(at("hosts/x/run.sh", "LF (embedded)")).toBeUndefined(); // refused by validation, naming the field
  });

  it("lets the escaped JSON through, and reports field x payload x file x what changed", () => {
    const rows = findingRows(result.runs);
    expect(rows.filter((r) => r.file === "hosts/x/careful.json")).toEqual([]);
    expect(rows.every((r) => r.field === "derp.regions[].name" && r.path === "derp.regions[0].name" && r.fixture === "minimal")).toBe(true);
    const text = report(result, 100);
    expect(text).toMatch(/^\d+ string fields in the schema, fuzzed at 1 places; \d+ payloads, whole and embedded: \d+ variants$/m);
    expect(text).toContain("derp.regions[0].name [minimal] x semicolon (embedded) x hosts/x/run.sh: + {Cmd:Call(cmd:x)}");
    expect(text).toMatch(/per field and file \(number of payloads\)/);
  });
});
