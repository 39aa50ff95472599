/**
 * The `cdktf-tailnet` command: the model without Terraform.
 *
 *   cdktf-tailnet validate <spec>              check a spec, report every problem
 *   cdktf-tailnet render <spec> --out <dir>    write every rendered file, atomically
 *   cdktf-tailnet versions                     list the headscale versions the kit renders for
 *
 * Exit codes: 0 success, 1 the spec has problems (nothing written), 2 usage or I/O error.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatIssues, HEADSCALE_MINORS, resolve, TailnetSpecError, validate, type ResolvedTailnet } from "../model/index.js";
import { checkTailnetCertificates, materializeCertificates, SecretStore } from "../secrets/index.js";
import { renderTailnet } from "../render/index.js";
import { packageRoot } from "../render/package-root.js";
import { loadSpecFile, SpecFileError } from "./load-spec.js";
import { writeTreeAtomically } from "./write-tree.js";

const USAGE = `usage:
  cdktf-tailnet validate <spec>
  cdktf-tailnet render <spec> [--out <dir>] [--secrets-dir <dir>]
                         (defaults: out, and $CDKTF_TAILNET_SECRETS_DIR or ./.cdktf-tailnet-secrets)
  cdktf-tailnet versions
  cdktf-tailnet --help | --version

<spec> is a tailnet.yaml, or a .ts/.js module whose default export is the spec.`;

/** Where the command writes; injectable so tests capture output. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

class UsageError extends Error {}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

function reportProblems(specPath: string, issues: readonly { path: string; message: string; fix: string }[], io: CliIo): undefined {
  io.err(`${specPath}: ${issues.length} problem${issues.length === 1 ? "" : "s"}, nothing written:\n${formatIssues(issues)}`);
  return undefined;
}

/** Validates and resolves the spec, and checks user-supplied certificate files (writes nothing). */
async function validated(specPath: string, io: CliIo): Promise<ResolvedTailnet | undefined> {
  const spec = await loadSpecFile(specPath);
  const result = validate(spec);
  if (!result.ok) return reportProblems(specPath, result.issues, io);
  for (const w of result.warnings) io.err(`warning: ${w.path}: ${w.message}\n  fix: ${w.fix}`);
  const tailnet = resolve(result.spec);
  const certificateIssues = checkTailnetCertificates(tailnet);
  if (certificateIssues.length > 0) return reportProblems(specPath, certificateIssues, io);
  return tailnet;
}

async function commandValidate(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError("validate takes exactly one spec file");
  const tailnet = await validated(positionals[0]!, io);
  if (!tailnet) return 1;
  const nodes = tailnet.derp.regions.reduce((n, r) => n + r.nodes.length, 0);
  io.out(`${positionals[0]}: valid (headscale ${tailnet.headscale.version.version}, ${tailnet.derp.regions.length} DERP regions, ${nodes} nodes, ${tailnet.hosts.length} hosts)`);
  return 0;
}

async function commandRender(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string", short: "o", default: "out" }, "secrets-dir": { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("render takes exactly one spec file");
  const resolved = await validated(positionals[0]!, io);
  if (!resolved) return 1;
  let tailnet: ResolvedTailnet;
  try {
    tailnet = materializeCertificates(resolved, new SecretStore(resolved.name, values["secrets-dir"]));
  } catch (e) {
    if (!(e instanceof TailnetSpecError)) throw e;
    reportProblems(positionals[0]!, e.issues, io);
    return 1;
  }
  const files = renderTailnet(tailnet);
  await writeTreeAtomically(values.out!, files);
  for (const f of files) io.out(`  ${f.mode.toString(8).padStart(4, "0")}  ${values.out}/${f.path}`);
  io.out(`rendered ${files.length} files for headscale ${tailnet.headscale.version.version} into ${values.out}/`);
  return 0;
}

function commandVersions(io: CliIo): number {
  for (const m of HEADSCALE_MINORS) io.out(`headscale ${m.releases.join(", ")}  (Tailscale clients ${m.minClientVersion} or newer)`);
  return 0;
}

/** Runs the command line `argv` (without node and script); returns the exit code. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "validate":
        return await commandValidate(rest, io);
      case "render":
        return await commandRender(rest, io);
      case "versions":
        return commandVersions(io);
      case "--version":
        io.out(packageVersion());
        return 0;
      case "--help":
      case "-h":
      case "help":
        io.out(USAGE);
        return 0;
      default:
        throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : "no command given");
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`cdktf-tailnet: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof SpecFileError) {
      io.err(`cdktf-tailnet: ${e.message}`);
      return 2;
    }
    io.err(`cdktf-tailnet: ${(e as Error).message}`);
    return 2;
  }
}
