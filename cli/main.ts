/**
 * The `cdktf-tailnet` command: the model without Terraform.
 *
 *   cdktf-tailnet validate <spec>              check a spec, report every problem
 *   cdktf-tailnet render <spec> --out <dir>    write every rendered file, atomically
 *   cdktf-tailnet lab <spec> [--clients N]     run the tailnet on this machine and check it (cli/lab.ts)
 *   cdktf-tailnet versions                     list the headscale versions the kit renders for
 *
 * Exit codes: 0 success, 1 the spec has problems (nothing written), 2 usage or I/O error.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatIssues, HEADSCALE_MINORS, TailnetSpecError, validate, type ResolvedTailnet } from "../model/index.js";
import { checkTailnetCertificates, materializeCertificates, SecretStore } from "../secrets/index.js";
import { renderTailnet } from "../render/index.js";
import { packageRoot } from "../render/package-root.js";
import { readFileSync as readFile } from "node:fs";
import { bootstrap } from "./bootstrap.js";
import { formatFindings, runDoctor } from "./doctor.js";
import { HeadscaleCli, runnerFor } from "./headscale-cli.js";
import { commandLab, LAB_USAGE, LabUsageError } from "./lab.js";
import { loadSpecFile, SpecFileError } from "./load-spec.js";
import { readTreeMetadata, writeTreeAtomically } from "./write-tree.js";

const USAGE = `usage:
  cdktf-tailnet validate <spec>
  cdktf-tailnet render <spec> [--out <dir>] [--secrets-dir <dir>]
                         (defaults: out, and $CDKTF_TAILNET_SECRETS_DIR or ./.cdktf-tailnet-secrets)
  cdktf-tailnet bootstrap <spec> --via <how> [--rotate-keys] [--show-keys] [--secrets-dir <dir>]
      create the spec's users and pre-auth keys in the running headscale, print join commands;
      <how>: local:<headscale binary>[,<config.yaml>] | docker:<container>[@ssh://user@host] | ssh:<user@host>
  cdktf-tailnet doctor <spec> [--json] [--dns-server <ip[:port]>] [--resolve <host>=<address>]... [--ca-file <pem>]
      check a running deployment from outside: DNS, headscale /health /key /verify over TLS,
      each DERP node's certificate or pin, /derp/probe, STUN, port 80
${LAB_USAGE}
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

/**
 * Validates and resolves the spec, and checks user-supplied certificate files (writes nothing).
 * `deployedVersion` (from an earlier render's manifest) stands in for `headscale.upgradeFrom` when
 * the spec does not say, so a render never silently skips a minor version.
 */
async function validated(specPath: string, io: CliIo, deployedVersion?: string): Promise<ResolvedTailnet | undefined> {
  const spec = await loadSpecFile(specPath);
  const withDeployed = (s: unknown) => {
    const hs = (s as { headscale?: { upgradeFrom?: string; version?: string } } | undefined)?.headscale;
    if (!deployedVersion || !hs || typeof hs !== "object" || hs.upgradeFrom !== undefined) return s;
    return { ...(s as object), headscale: { ...hs, upgradeFrom: deployedVersion } };
  };
  const result = validate(withDeployed(spec));
  if (!result.ok) return reportProblems(specPath, result.issues, io);
  for (const w of result.warnings) io.err(`warning: ${w.path}: ${w.message}\n  fix: ${w.fix}`);
  const tailnet = result.resolved;
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
  const resolved = await validated(positionals[0]!, io, readTreeMetadata(values.out!)?.headscaleVersion);
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
  await writeTreeAtomically(values.out!, files, { headscaleVersion: tailnet.headscale.version.version });
  for (const f of files) io.out(`  ${f.mode.toString(8).padStart(4, "0")}  ${values.out}/${f.path}`);
  io.out(`rendered ${files.length} files for headscale ${tailnet.headscale.version.version} into ${values.out}/`);
  return 0;
}

async function commandBootstrap(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { via: { type: "string" }, "rotate-keys": { type: "boolean" }, "show-keys": { type: "boolean" }, "secrets-dir": { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("bootstrap takes exactly one spec file");
  if (!values.via) throw new UsageError("bootstrap needs --via: how to reach the headscale CLI");
  const tailnet = await validated(positionals[0]!, io);
  if (!tailnet) return 1;
  const cli = new HeadscaleCli(runnerFor(values.via), tailnet.headscale.version.version);
  const store = new SecretStore(tailnet.name, values["secrets-dir"]);
  const result = await bootstrap(tailnet, { cli, store, rotateKeys: values["rotate-keys"], showKeys: values["show-keys"] });
  io.out(result.createdUsers.length ? `created users: ${result.createdUsers.join(", ")}` : "users: all present");
  for (const k of result.userKeys) io.out(`user ${k.user}: pre-auth key ${k.keyStatus} (${k.keyFile})`);
  for (const d of result.devices) {
    io.out(`\n# ${d.name}: pre-auth key ${d.keyStatus} (${d.keyFile})`);
    for (const line of d.forwarding) io.out(line);
    io.out(d.joinCommand);
  }
  return 0;
}

async function commandDoctor(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: "boolean" },
      "dns-server": { type: "string" },
      resolve: { type: "string", multiple: true },
      "ca-file": { type: "string" },
      "secrets-dir": { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("doctor takes exactly one spec file");
  const resolved = await validated(positionals[0]!, io);
  if (!resolved) return 1;
  // Kit-issued certificates are read (not issued) to know each node's pin.
  const tailnet = materializeCertificates(resolved, new SecretStore(resolved.name, values["secrets-dir"]));
  const fixed: Record<string, string> = {};
  for (const entry of values.resolve ?? []) {
    const [host, address] = entry.split("=");
    if (!host || !address) throw new UsageError(`--resolve ${JSON.stringify(entry)}: write host=address`);
    fixed[host] = address;
  }
  const findings = await runDoctor(tailnet, {
    dnsServer: values["dns-server"],
    resolve: fixed,
    ca: values["ca-file"] ? readFile(values["ca-file"], "utf8") : undefined,
    onFinding: values.json ? undefined : (f) => io.err(`${f.ok ? "ok  " : "FAIL"} ${f.check} ${f.target}`),
  });
  io.out(values.json ? JSON.stringify({ findings }, null, 2) : formatFindings(findings));
  return findings.every((f) => f.ok) ? 0 : 1;
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
      case "lab":
        return await commandLab(rest, io);
      case "versions":
        return commandVersions(io);
      case "bootstrap":
        return await commandBootstrap(rest, io);
      case "doctor":
        return await commandDoctor(rest, io);
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
    if (e instanceof UsageError || e instanceof LabUsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
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
