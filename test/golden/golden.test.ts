/**
 * Golden files: every file the kit renders and every cdk.tf.json it synthesizes, for every test
 * spec and every example (test/golden/cases.ts), compared byte for byte with the committed output in
 * test/golden/out/. A refactoring that should change nothing proves it here.
 *
 * Deterministic by construction: certificates are checked at a fixed time, the secrets directory
 * is a scratch copy of test/golden/secrets/ (kit-issued certificates valid for a century, mesh
 * keys), and the files the specs name on the deploying machine are fixed (test/golden/local/).
 * Scratch paths are written as `$SECRETS`, `$LOCAL` and `$OUT` in the golden files.
 *
 * After a deliberate change, regenerate with `UPDATE_GOLDEN=1 npx vitest run test/golden` and
 * review the diff. A case that needs a secret test/golden/secrets/ lacks fails here; the update run
 * issues it (a certificate valid for 100 years) and commits it to that folder with the output.
 */
import { Testing, TerraformStack } from "cdktf";
import { X509Certificate } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tailnet } from "../../constructs/index.js";
import { renderTailnet } from "../../render/index.js";
import { issueSelfSigned, prepareTailnet } from "../../secrets/index.js";
import { MANUAL_CERT_HOST, makeLocalFiles } from "../fuzz/fixtures.js";
import { scratchDir } from "../support/scratch.js";
import { testApp } from "../support/synth.js";
import { EXAMPLE_CASES, SPEC_CASES } from "./cases.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, "out");
const SECRETS = join(HERE, "secrets");
const LOCAL = join(HERE, "local");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

/** The time certificates are checked and issued at. */
const NOW = new Date("2026-12-01T00:00:00Z");
/** Kit-issued certificates of the golden secrets outlive the tests. */
const CENTURY_DAYS = 36_500;

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** A scratch copy of the golden secrets of one case, with the modes the store insists on. */
function secretsFor(caseName: string): string {
  const dir = scratchDir("cdktf-golden-secrets-");
  const from = join(SECRETS, caseName);
  if (existsSync(from)) cpSync(from, dir, { recursive: true });
  for (const f of filesUnder(dir)) chmodSync(join(dir, f), f.endsWith(".key") ? 0o600 : 0o644);
  const dirs = (d: string) => {
    chmodSync(d, 0o700);
    for (const name of readdirSync(d)) if (statSync(join(d, name)).isDirectory()) dirs(join(d, name));
  };
  dirs(dir);
  return dir;
}

/** After an update run, the secrets a case created are kept; otherwise a new one is an error. */
function keepSecrets(caseName: string, dir: string): void {
  const committed = filesUnder(join(SECRETS, caseName));
  const created = filesUnder(dir).filter((f) => !committed.includes(f));
  if (created.length === 0) return;
  if (UPDATE) {
    for (const f of created) {
      mkdirSync(dirname(join(SECRETS, caseName, f)), { recursive: true });
      cpSync(join(dir, f), join(SECRETS, caseName, f));
    }
  }
  throw new Error(
    `${caseName} created secrets test/golden/secrets lacked (${created.join(", ")}); ${UPDATE ? "they are kept now: run the update again" : "run UPDATE_GOLDEN=1 npx vitest run test/golden (twice)"}`,
  );
}

/**
 * The files the fixtures name on the deploying machine: test/golden/local, named by a path
 * relative to the package root (where tests run), so rendered files that name them are the same
 * in every checkout. An update run creates what is missing (a certificate valid for a century).
 */
function localFiles(): string {
  if (UPDATE && !existsSync(join(LOCAL, "par.crt"))) {
    makeLocalFiles(LOCAL);
    const issued = issueSelfSigned(MANUAL_CERT_HOST, CENTURY_DAYS, NOW);
    writeFileSync(join(LOCAL, "par.crt"), issued.certPem);
    writeFileSync(join(LOCAL, "par.key"), issued.keyPem);
  }
  for (const f of ["derper", "headscale", "par.crt", "par.key"]) {
    if (!existsSync(join(LOCAL, f))) throw new Error(`test/golden/local/${f} is missing; run UPDATE_GOLDEN=1 npx vitest run test/golden`);
  }
  return relative(process.cwd(), LOCAL);
}

/**
 * In an update run, replaces the kit-issued certificates a case just created (valid for the spec's
 * days from today) with ones for the same name valid for a century from NOW, so the golden output
 * does not change when they would be reissued.
 */
function centuryCertificates(caseName: string, dir: string): void {
  const committed = filesUnder(join(SECRETS, caseName));
  for (const f of filesUnder(dir).filter((f) => !committed.includes(f) && /(^|\/)derp-cert\/[^/]+\.crt$/.test(f))) {
    const name = /CN=([^\n]+)/.exec(new X509Certificate(readFileSync(join(dir, f))).subject)![1]!;
    const issued = issueSelfSigned(name, CENTURY_DAYS, NOW);
    writeFileSync(join(dir, f.replace(/\.crt$/, ".key")), issued.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, f), issued.certPem);
  }
}

function withPlaceholders(text: string, dirs: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [name, dir] of Object.entries(dirs)) out = out.split(dir).join(`$${name}`);
  return out;
}

/** Compares with (or, in an update run, writes) test/golden/out/<name>. */
function golden(name: string, actual: string): void {
  const path = join(OUT, name);
  if (UPDATE) {
    mkdirSync(OUT, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `test/golden/out/${name} is missing; run UPDATE_GOLDEN=1 npx vitest run test/golden`).toBe(true);
  const expected = readFileSync(path, "utf8");
  if (actual === expected) return;
  const a = actual.split("\n");
  const e = expected.split("\n");
  const line = a.findIndex((l, i) => l !== e[i]);
  expect.fail(
    `${name} differs from test/golden/out/${name} from line ${line + 1}:\n  golden: ${e[line]?.slice(0, 300)}\n  now:    ${a[line]?.slice(0, 300)}\n` +
      "if the change is deliberate, run UPDATE_GOLDEN=1 npx vitest run test/golden and review the diff",
  );
}

/** Synthesizes a stack into a scratch folder and returns its cdk.tf.json. */
function synth(build: (app: ReturnType<typeof testApp>) => TerraformStack): { text: string; outdir: string } {
  const app = testApp();
  const stack = build(app);
  return { text: Testing.synth(stack), outdir: app.outdir };
}

/** The rendered tree as one text: each file under a header with its path and mode. */
function treeText(files: readonly { path: string; content: string; mode: number }[]): string {
  return files.map((f) => `=== ${f.path} (0${f.mode.toString(8)})\n${f.content}${f.content.endsWith("\n") ? "" : "\n=== (no newline at end)\n"}`).join("");
}

/** What a case produces, with scratch paths as placeholders. */
type Outputs = Record<string, string>;

/**
 * Runs a case against a scratch copy of its golden secrets, exactly once (cdktf numbers its tokens
 * per process, and a content hash over token text follows that numbering). A case that creates a
 * secret test/golden/secrets lacks fails; in an update run the secret is kept first (its
 * certificate made century-long), so the next update run succeeds.
 */
function runCase(name: string, run: (secretsDir: string) => Outputs): Outputs {
  const secretsDir = secretsFor(name);
  const outputs = run(secretsDir);
  if (UPDATE) centuryCertificates(name, secretsDir);
  keepSecrets(name, secretsDir);
  return outputs;
}

describe("golden files: rendered trees and cdk.tf.json of every test spec and example", () => {
  let local: string;
  const savedSecretsDir = process.env.CDKTF_TAILNET_SECRETS_DIR;
  beforeAll(() => {
    local = localFiles();
  });
  afterAll(() => {
    process.env.CDKTF_TAILNET_SECRETS_DIR = savedSecretsDir;
  });

  for (const c of SPEC_CASES) {
    it(`${c.name}: rendered files and the Tailnet construct's cdk.tf.json`, () => {
      const outputs = runCase(c.name, (secretsDir) => {
        const files = renderTailnet(prepareTailnet(c.spec(local), { secretsDir, now: NOW }));
        const { text, outdir } = synth((app) => {
          const stack = new TerraformStack(app, "golden");
          new Tailnet(stack, "tailnet", { spec: c.spec(local), secretsDir });
          return stack;
        });
        const dirs = { SECRETS: secretsDir, LOCAL: resolve(local), OUT: outdir };
        return { [`${c.name}.files.txt`]: withPlaceholders(treeText(files), dirs), [`${c.name}.cdk.tf.json`]: withPlaceholders(text, dirs) };
      });
      for (const [name, text] of Object.entries(outputs)) golden(name, text);
    });
  }

  for (const c of EXAMPLE_CASES) {
    it(`${c.name}: cdk.tf.json`, () => {
      const outputs = runCase(c.name, (secretsDir) => {
        process.env.CDKTF_TAILNET_SECRETS_DIR = secretsDir;
        const { text, outdir } = synth((app) => c.stack(app, secretsDir));
        return { [`${c.name}.cdk.tf.json`]: withPlaceholders(text, { SECRETS: secretsDir, LOCAL: resolve(local), OUT: outdir }) };
      });
      for (const [name, text] of Object.entries(outputs)) golden(name, text);
    });
  }

  it("every golden file belongs to a case (a removed case's files are removed too)", () => {
    const expected = new Set([
      ...SPEC_CASES.flatMap((c) => [`${c.name}.files.txt`, `${c.name}.cdk.tf.json`]),
      ...EXAMPLE_CASES.map((c) => `${c.name}.cdk.tf.json`),
    ]);
    if (UPDATE) for (const f of filesUnder(OUT)) if (!expected.has(f)) rmSync(join(OUT, f));
    expect(filesUnder(OUT).filter((f) => !expected.has(f))).toEqual([]);
  });
});
