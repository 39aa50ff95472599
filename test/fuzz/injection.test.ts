/**
 * The spec is hostile until validated (issue 13): for every string field of
 * schema/tailnet.schema.json (strings in arrays, map values and keys, every branch of a union),
 * and for every payload (line breaks of every kind, NUL, quotes, backslash, `$(`, backticks, `;`,
 * `${`, `%{`, `%h`, `#`, `[Service]`, `../`, 10 kB), whole and embedded in the field's valid
 * value, the spec is either refused with an issue naming the field, or every file the kit renders
 * and cdk.tf.json keep the structure they have with a plain value in the field: the same units
 * and directives (and nothing new from systemd-analyze verify), the same shell commands (shfmt's
 * syntax tree), the same YAML keys (PyYAML, and nothing new from cloud-init's schema), the same
 * nftables rules (and nothing new from nft -c), the same Dockerfile instructions, the same JSON
 * keys, and no new Terraform expression.
 *
 * See test/fuzz/fuzzer.ts for how, and test/fuzz/structure.test.ts for each format's extractor
 * catching a real injection. A failure prints field x payload x file x what changed (the first
 * rows; `CDKTF_TAILNET_FUZZ_REPORT=<file>` writes them all).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import schemaJson from "../../schema/tailnet.schema.json" with { type: "json" };
import { validate } from "../../model/index.js";
import { upstreamSkipReason } from "../support/upstream.js";
import { FIXTURES, makeLocalFiles } from "./fixtures.js";
import { chooseTargets, fuzz } from "./fuzzer.js";
import { findingRows, report, summary } from "./report.js";
import type { Schema } from "./schema-fields.js";

const schema = schemaJson as unknown as Schema;

describe("every string field of the schema", () => {
  it("is set by a valid fixture, so a new field cannot escape the fuzzer", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdktf-tailnet-fuzz-fixtures-"));
    try {
      makeLocalFiles(dir);
      const specs = FIXTURES.map((f) => [f.name, f.spec(dir)] as const);
      for (const [name, spec] of specs) {
        const r = validate(spec);
        expect(r.ok ? [] : r.issues, `fixture ${name} must be valid`).toEqual([]);
      }
      const { uncovered, targets, patterns } = chooseTargets(schema, specs, 1);
      expect(uncovered, "string fields no fixture in test/fuzz/fixtures.ts sets: give them a value there").toEqual([]);
      expect(targets.length).toBe(patterns.length);
      expect(patterns.length).toBeGreaterThan(100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(upstreamSkipReason)("injection fuzzer", () => {
  let work: string;
  const tmp = process.env.TMPDIR;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "cdktf-tailnet-fuzz-"));
    // Everything the run writes to the temp dir (build contexts, validators' files) lands in
    // `work`, so nothing is left behind and nothing escapes notice.
    mkdirSync(join(work, "tmp"));
    process.env.TMPDIR = join(work, "tmp");
  });
  afterAll(() => {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
    rmSync(work, { recursive: true, force: true });
  });

  it("every payload in every string field is refused naming the field, or changes no structure: 0 structure changes", { timeout: 30 * 60_000 }, async () => {
    const result = await fuzz({ schema, fixtures: FIXTURES, workDir: join(work, "run") });
    console.log(`injection fuzzer:\n${summary(result)}`);
    // The failure message is capped; CDKTF_TAILNET_FUZZ_REPORT=<file> writes every finding there.
    const full = process.env.CDKTF_TAILNET_FUZZ_REPORT;
    if (full) writeFileSync(full, `${report(result, Infinity, Infinity)}\n`);
    expect(result.uncovered).toEqual([]);
    expect(result.runs.length).toBeGreaterThan(result.targets.length * 30);
    const rows = findingRows(result.runs);
    const structureChanges = rows.filter((r) => r.file !== "(validation)" && r.file !== "(render/synth)");
    expect(structureChanges.length, report(result)).toBe(0);
    // And every refusal names the field, and nothing validation accepted throws later.
    expect(rows.length, report(result)).toBe(0);
  });
});
