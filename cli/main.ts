/**
 * The `cdktf-tailnet` command: the model without Terraform.
 *
 *   cdktf-tailnet validate <spec>              check a spec, report every problem
 *   cdktf-tailnet render <spec> --out <dir>    write every rendered file, replacing <dir> whole (cli/write-tree.ts)
 *   cdktf-tailnet bootstrap / doctor           users and keys in a running headscale; check a deployment
 *   cdktf-tailnet restore <spec> --via <how>   restore a backup of headscale's state (cli/restore.ts)
 *   cdktf-tailnet lab <spec> [--clients N]     run the tailnet on this machine and check it (cli/lab.ts)
 *   cdktf-tailnet versions                     headscale and Tailscale releases, defaults, known advisories
 *
 * Every command takes -h/--help (its usage, cli/usage.ts); `help <command>` says the same.
 * Exit codes: 0 success, 1 the spec has problems (nothing written), 2 usage or I/O error.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatIssues, TailnetSpecError, validate, type PreparedTailnet, type ResolvedTailnet } from "../model/index.js";
import { checkLocalFiles, checkTailnetCertificates, prepare, SecretStore } from "../secrets/index.js";
import { renderTailnet } from "../render/index.js";
import { packageRoot } from "../fsx/package-root.js";
import { expectPositionals, HelpRequested, parseCommand, UsageError } from "./args.js";
import { bootstrap } from "./bootstrap.js";
import { formatFindings, runDoctor } from "./doctor.js";
import { describeFileError, isFileError } from "./file-errors.js";
import { HeadscaleCli, runnerFor } from "./headscale-cli.js";
import { commandLab, LAB, LAB_DOWN } from "./lab.js";
import { loadSpecFile, SpecFileError } from "./load-spec.js";
import { BOOTSTRAP, DOCTOR, RENDER, RESTORE, USAGE, VALIDATE, VERSIONS } from "./usage.js";
import { backupHostFor } from "./backup-host.js";
import { formatBackupList, listBackups, restoreBackup, RestoreRefused } from "./restore.js";
import { versionsReport } from "./versions.js";
import { OutputTree, OutputTreeError } from "./write-tree.js";
import type { CliIo } from "./io.js";

export type { CliIo } from "./io.js";

const processIo: CliIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

function reportProblems(specPath: string, issues: readonly { path: string; message: string; fix: string }[], io: CliIo): undefined {
  io.err(`${specPath}: ${issues.length} problem${issues.length === 1 ? "" : "s"}, nothing written:\n${formatIssues(issues)}`);
  return undefined;
}

/**
 * Validates and resolves the spec and prints its warnings (writes nothing). `deployedVersion`
 * (from an earlier render's manifest) stands in for `headscale.upgradeFrom` when the spec does not
 * say, so a render never silently skips a minor version.
 */
async function validatedModel(specPath: string, io: CliIo, deployedVersion?: string): Promise<ResolvedTailnet | undefined> {
  const spec = await loadSpecFile(specPath);
  const withDeployed = (s: unknown) => {
    const hs = (s as { headscale?: { upgradeFrom?: string; rollbackFrom?: string; version?: string } } | undefined)?.headscale;
    if (!deployedVersion || !hs || typeof hs !== "object" || hs.upgradeFrom !== undefined || hs.rollbackFrom !== undefined) return s;
    return { ...(s as object), headscale: { ...hs, upgradeFrom: deployedVersion } };
  };
  const result = validate(withDeployed(spec));
  if (!result.ok) return reportProblems(specPath, result.issues, io);
  for (const w of result.warnings) io.err(`warning: ${w.path}: ${w.message}\n  fix: ${w.fix}`);
  return result.resolved;
}

/** {@link validatedModel}, then the user-supplied certificate and local files checked, for commands that do not prepare the model. */
async function validated(specPath: string, io: CliIo): Promise<ResolvedTailnet | undefined> {
  const tailnet = await validatedModel(specPath, io);
  if (!tailnet) return undefined;
  const fileIssues = [...checkTailnetCertificates(tailnet), ...checkLocalFiles(tailnet)];
  return fileIssues.length > 0 ? reportProblems(specPath, fileIssues, io) : tailnet;
}

/**
 * The model prepared (secrets/index.ts `prepare`, which checks the certificate and local files
 * itself), its problems reported as validation's are.
 */
function prepared(specPath: string, resolved: ResolvedTailnet, secretsDir: string | undefined, io: CliIo): PreparedTailnet | undefined {
  try {
    return prepare(resolved, { secretsDir });
  } catch (e) {
    if (!(e instanceof TailnetSpecError)) throw e;
    return reportProblems(specPath, e.issues, io);
  }
}

async function commandValidate(args: string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommand(VALIDATE, args);
  expectPositionals(VALIDATE, positionals, ["spec file"]);
  const tailnet = await validated(positionals[0]!, io);
  if (!tailnet) return 1;
  const nodes = tailnet.derp.regions.reduce((n, r) => n + r.nodes.length, 0);
  io.out(
    `${positionals[0]}: valid (headscale ${tailnet.headscale.version.version}, ${tailnet.derp.regions.length} DERP regions, ${nodes} nodes, ${tailnet.hosts.length} hosts)`,
  );
  return 0;
}

/** A file error while reading or writing `--out`, in words naming it. */
function outputError(outDir: string): (e: unknown) => never {
  return (e) => {
    if (!isFileError(e)) throw e;
    throw new OutputTreeError(
      describeFileError(e, resolve(outDir), { doing: "write the output directory", access: "write", missingFix: "check the path given to --out" }),
    );
  };
}

async function commandRender(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseCommand(RENDER, args);
  expectPositionals(RENDER, positionals, ["spec file"]);
  const outDir = values.out ?? "out";
  // Opened first: it recovers from a killed render, refuses a directory that is not the kit's,
  // and knows the version rendered last; it stays locked until the new tree is in place.
  const tree = await OutputTree.open(outDir).catch(outputError(outDir));
  const shown = tree.recovered.length;
  try {
    for (const step of tree.recovered) io.err(`recovered: ${step}`);
    const resolved = await validatedModel(positionals[0]!, io, tree.metadata?.headscaleVersion);
    const tailnet = resolved && prepared(positionals[0]!, resolved, values["secrets-dir"], io);
    if (!tailnet) return 1;
    const files = renderTailnet(tailnet);
    await tree.replace(files, { headscaleVersion: tailnet.headscale.version.version }).catch(outputError(outDir));
    for (const step of tree.recovered.slice(shown)) io.err(`recovered: ${step}`);
    for (const f of files) io.out(`  ${f.mode.toString(8).padStart(4, "0")}  ${outDir}/${f.path}`);
    io.out(`rendered ${files.length} files for headscale ${tailnet.headscale.version.version} into ${outDir}/`);
    return 0;
  } finally {
    await tree.close();
  }
}

async function commandBootstrap(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseCommand(BOOTSTRAP, args);
  expectPositionals(BOOTSTRAP, positionals, ["spec file"]);
  if (!values.via) throw new UsageError("bootstrap needs --via: how to reach the headscale CLI", BOOTSTRAP.usage, BOOTSTRAP.name);
  const tailnet = await validated(positionals[0]!, io);
  if (!tailnet) return 1;
  const cli = new HeadscaleCli(runnerFor(values.via), tailnet.headscale.version.version);
  const store = new SecretStore(tailnet.name, values["secrets-dir"]);
  const result = await bootstrap(tailnet, { cli, store, rotateKeys: values["rotate-keys"], showKeys: values["show-keys"] });
  io.out(result.createdUsers.length ? `created users: ${result.createdUsers.join(", ")}` : "users: all present");
  io.out("");
  for (const line of result.clientAdvice) io.out(`# ${line}`);
  for (const k of result.userKeys) io.out(`user ${k.user}: pre-auth key ${k.keyStatus} (${k.keyFile})`);
  for (const d of result.devices) {
    io.out(`\n# ${d.name}: pre-auth key ${d.keyStatus} (${d.keyFile})`);
    for (const line of d.forwarding) io.out(line);
    io.out(d.joinCommand);
  }
  return 0;
}

/** The PEM text of `--ca-file`, read with the error in words. */
function readCaFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if (!isFileError(e)) throw e;
    throw new SpecFileError(describeFileError(e, path, { doing: "read the --ca-file", access: "read", missingFix: "check the path given to --ca-file" }));
  }
}

async function commandDoctor(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseCommand(DOCTOR, args);
  expectPositionals(DOCTOR, positionals, ["spec file"]);
  const fixed: Record<string, string> = {};
  for (const entry of values.resolve ?? []) {
    const [host, address] = entry.split("=");
    if (!host || !address) throw new UsageError(`--resolve ${JSON.stringify(entry)}: write host=address`, DOCTOR.usage, DOCTOR.name);
    fixed[host] = address;
  }
  const ca = values["ca-file"] === undefined ? undefined : readCaFile(values["ca-file"]);
  // Kit-issued certificates are read (not issued) to know each node's pin.
  const resolved = await validatedModel(positionals[0]!, io);
  const tailnet = resolved && prepared(positionals[0]!, resolved, values["secrets-dir"], io);
  if (!tailnet) return 1;
  const findings = await runDoctor(tailnet, {
    dnsServer: values["dns-server"],
    resolve: fixed,
    ca,
    ...(values.via !== undefined && { backups: backupHostFor(values.via, tailnet) }),
    onFinding: values.json ? undefined : (f) => io.err(`${f.ok ? "ok  " : "FAIL"} ${f.check} ${f.target}`),
  });
  io.out(values.json ? JSON.stringify({ findings }, null, 2) : formatFindings(findings));
  return findings.every((f) => f.ok) ? 0 : 1;
}

async function commandRestore(args: string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseCommand(RESTORE, args);
  expectPositionals(RESTORE, positionals, ["spec file"]);
  if (!values.via) throw new UsageError("restore needs --via: where headscale and its backups are", RESTORE.usage, RESTORE.name);
  const tailnet = await validated(positionals[0]!, io);
  if (!tailnet) return 1;
  const host = backupHostFor(values.via, tailnet);
  if (values.list) {
    const listing = await listBackups(host);
    io.out(values.json ? JSON.stringify(listing, null, 2) : formatBackupList(listing));
    return 0;
  }
  const cli = new HeadscaleCli(runnerFor(values.via), tailnet.headscale.version.version);
  try {
    const result = await restoreBackup(tailnet, host, {
      backup: values.backup,
      onProgress: (line) => io.err(line),
      nodes: async () => (await cli.nodes()).map((n) => n.name),
    });
    if (values.json) io.out(JSON.stringify(result, null, 2));
    else {
      io.out(
        `restored ${result.backup.name} (headscale ${result.manifest.headscale_version}, taken ${result.manifest.created}) on ${host.description}; headscale was down ${(result.downtimeMs / 1000).toFixed(1)} s`,
      );
      io.out(
        result.lostNodes === undefined
          ? "lost: unknown (headscale could not be asked for its nodes before the restore)"
          : `lost: ${result.lostNodes.length === 0 ? "no node" : `nodes registered after the backup: ${result.lostNodes.join(", ")}`}`,
      );
    }
    return 0;
  } catch (e) {
    if (!(e instanceof RestoreRefused)) throw e;
    io.err(`cdktf-tailnet restore: ${e.message}`);
    return 1;
  }
}

function commandVersions(args: string[], io: CliIo): number {
  const { positionals } = parseCommand(VERSIONS, args);
  expectPositionals(VERSIONS, positionals, []);
  for (const line of versionsReport()) io.out(line);
  return 0;
}

/** The usage of `help <command>`'s command. */
function helpFor(topic: readonly string[]): string {
  const name = topic.join(" ");
  const command = [VALIDATE, RENDER, BOOTSTRAP, DOCTOR, RESTORE, LAB, LAB_DOWN, VERSIONS].find((c) => c.name === name);
  if (topic.length > 0 && !command) throw new UsageError(`no command ${JSON.stringify(name)}`);
  return command?.usage ?? USAGE;
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
        return commandVersions(rest, io);
      case "bootstrap":
        return await commandBootstrap(rest, io);
      case "doctor":
        return await commandDoctor(rest, io);
      case "restore":
        return await commandRestore(rest, io);
      case "--version":
        io.out(packageVersion());
        return 0;
      case "--help":
      case "-h":
        io.out(USAGE);
        return 0;
      case "help":
        io.out(helpFor(rest));
        return 0;
      default:
        throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : "no command given");
    }
  } catch (e) {
    if (e instanceof HelpRequested) {
      io.out(e.usage);
      return 0;
    }
    if (e instanceof UsageError) {
      io.err(`cdktf-tailnet${e.command ? ` ${e.command}` : ""}: ${e.message}\n${e.usage ?? USAGE}`);
      return 2;
    }
    const prefix = `cdktf-tailnet${command && !command.startsWith("-") ? ` ${command}` : ""}`;
    if (e instanceof SpecFileError || e instanceof OutputTreeError) {
      io.err(`${prefix}: ${e.message}`);
      return 2;
    }
    if (isFileError(e)) {
      io.err(`${prefix}: ${describeFileError(e)}`);
      return 2;
    }
    io.err(`${prefix}: ${(e as Error).message}`);
    return 2;
  }
}
