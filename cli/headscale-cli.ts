/**
 * Talking to a running headscale through its own CLI, on the machine that runs it: a local
 * binary (with its config), `docker exec` into the container, or ssh to a VM. Every call asks
 * for JSON output and is parsed; version differences of the CLI are handled here.
 */
import { execa } from "execa";
import { findHeadscaleVersion } from "../model/index.js";

/** Runs `headscale <args>` somewhere and returns its stdout. */
export type HeadscaleRunner = (args: readonly string[]) => Promise<string>;

/** How to reach the headscale CLI, as written on the command line (`--via`). */
export function runnerFor(via: string): HeadscaleRunner {
  const run = async (file: string, args: readonly string[]) => {
    const r = await execa(file, [...args], { reject: false, env: { NO_COLOR: "1" } });
    if (r.exitCode !== 0)
      throw new Error(`${[file, ...args].join(" ")} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ")}`);
    return r.stdout;
  };
  const [kind, rest] = [via.slice(0, via.indexOf(":")), via.slice(via.indexOf(":") + 1)];
  switch (kind) {
    case "local": {
      // local:<binary>[,<config.yaml>]
      const [binary, config] = rest.split(",");
      return (args) => run(binary!, [...(config ? ["-c", config] : []), ...args]);
    }
    case "docker": {
      // docker:<container>[@<docker host, e.g. ssh://user@host>]
      const [container, host] = rest.split("@ssh://").length > 1 ? [rest.split("@ssh://")[0]!, `ssh://${rest.split("@ssh://")[1]}`] : [rest, undefined];
      return (args) => run("docker", [...(host ? ["-H", host] : []), "exec", container!, "headscale", ...args]);
    }
    case "ssh":
      // ssh:<user@host>: headscale on the VM, through sudo.
      return (args) => run("ssh", ["-o", "BatchMode=yes", rest, "sudo", "headscale", ...args]);
    default:
      throw new Error(`--via ${JSON.stringify(via)}: use local:<binary>[,<config>], docker:<container>[@ssh://user@host] or ssh:<user@host>`);
  }
}

export interface HeadscaleUser {
  readonly id: string;
  readonly name: string;
}

export interface HeadscaleNodeSummary {
  readonly id: string;
  /** Its name in the tailnet (given name). */
  readonly name: string;
  readonly online: boolean;
}

export interface HeadscalePreAuthKey {
  readonly id: string;
  readonly key: string;
  readonly user: string | undefined;
  readonly reusable: boolean;
  readonly ephemeral: boolean;
  readonly used: boolean;
  readonly expiration: string | undefined;
  readonly aclTags: readonly string[];
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text.trim() || "null");
  } catch {
    throw new Error(`headscale ${what}: expected JSON, got: ${text.trim().slice(0, 200)}`);
  }
}

function asKey(raw: Record<string, unknown>): HeadscalePreAuthKey {
  const user = raw.user as { name?: string } | string | undefined;
  const expiration = raw.expiration as { seconds?: string | number } | string | undefined;
  return {
    id: String(raw.id ?? ""),
    key: String(raw.key ?? ""),
    user: typeof user === "object" ? user?.name : user,
    reusable: Boolean(raw.reusable),
    ephemeral: Boolean(raw.ephemeral),
    used: Boolean(raw.used),
    expiration:
      typeof expiration === "object" && expiration?.seconds !== undefined
        ? new Date(Number(expiration.seconds) * 1000).toISOString()
        : (expiration as string | undefined),
    aclTags: (raw.acl_tags ?? raw.aclTags ?? []) as string[],
  };
}

/** The headscale CLI of one version. */
export class HeadscaleCli {
  readonly #run: HeadscaleRunner;
  readonly #keysListPerUser: boolean;

  constructor(run: HeadscaleRunner, version: string) {
    this.#run = run;
    const v = findHeadscaleVersion(version);
    // 0.27 lists keys per user (`-u <id>` required); 0.28 and later list all keys at once.
    this.#keysListPerUser = v?.minor.minor === "0.27";
  }

  async users(): Promise<HeadscaleUser[]> {
    const list = (parseJson(await this.#run(["users", "list", "-o", "json"]), "users list") ?? []) as Record<string, unknown>[];
    return list.map((u) => ({ id: String(u.id), name: String(u.name) }));
  }

  async createUser(name: string): Promise<HeadscaleUser> {
    const u = parseJson(await this.#run(["users", "create", name, "-o", "json"]), "users create") as Record<string, unknown>;
    return { id: String(u.id), name: String(u.name) };
  }

  /** The nodes headscale knows, by name. */
  async nodes(): Promise<HeadscaleNodeSummary[]> {
    const list = (parseJson(await this.#run(["nodes", "list", "-o", "json"]), "nodes list") ?? []) as Record<string, unknown>[];
    return list.map((n) => ({ id: String(n.id), name: String(n.given_name ?? n.name), online: Boolean(n.online) }));
  }

  async preAuthKeys(users: readonly HeadscaleUser[]): Promise<HeadscalePreAuthKey[]> {
    if (!this.#keysListPerUser) {
      const list = (parseJson(await this.#run(["preauthkeys", "list", "-o", "json"]), "preauthkeys list") ?? []) as Record<string, unknown>[];
      return list.map(asKey);
    }
    const all: HeadscalePreAuthKey[] = [];
    for (const u of users) {
      const list = (parseJson(await this.#run(["preauthkeys", "list", "-u", u.id, "-o", "json"]), "preauthkeys list") ?? []) as Record<string, unknown>[];
      all.push(...list.map((k) => ({ ...asKey(k), user: asKey(k).user ?? u.name })));
    }
    return all;
  }

  async createPreAuthKey(
    user: HeadscaleUser,
    options: { reusable: boolean; ephemeral: boolean; expiration: string; tags: readonly string[] },
  ): Promise<HeadscalePreAuthKey> {
    const args = [
      "preauthkeys",
      "create",
      "-u",
      user.id,
      "-e",
      options.expiration,
      ...(options.reusable ? ["--reusable"] : []),
      ...(options.ephemeral ? ["--ephemeral"] : []),
      ...(options.tags.length ? ["--tags", options.tags.join(",")] : []),
      "-o",
      "json",
    ];
    return asKey(parseJson(await this.#run(args), "preauthkeys create") as Record<string, unknown>);
  }
}
