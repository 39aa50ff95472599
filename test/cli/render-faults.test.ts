/**
 * `render` under faults: a render killed at any moment leaves the old tree or the new one (or, for
 * a moment between two renames, the pieces to put one back together), and the next render
 * recovers and says exactly what it did. Killed at every step on purpose (a driver kills itself
 * at the n-th step), at random moments (a driver writing trees in a loop, and the real CLI), and
 * the directories render must never replace: foreign files, changed files, a symbolic link.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/main.js";
import { processId } from "../../fsx/process-id.js";
import { OutputTree, writeTreeAtomically, type WriteStep } from "../../cli/write-tree.js";
import { bundle } from "../support/bundle.js";
import { FAULT_TREES } from "../support/fault-trees.js";
import { scratchDir } from "../support/scratch.js";

const EXAMPLE = new URL("../../examples/home-lab/tailnet.yaml", import.meta.url).pathname;

let work: string;
let writer: string;
let cli: string;
let n = 0;
/** A fresh directory to hold `out` and whatever a render leaves beside it. */
const freshParent = () => {
  const dir = join(work, `case-${n++}`);
  mkdirSync(dir);
  return dir;
};

/** Every entry under `dir` with its mode, and each file's SHA-256: equal snapshots, equal trees. */
function snapshot(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix))
    .sort()
    .flatMap((name) => {
      const rel = prefix ? `${prefix}/${name}` : name;
      const stat = lstatSync(join(dir, rel));
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isDirectory()) return [`${rel}/ ${mode}`, ...snapshot(dir, rel)];
      if (stat.isFile())
        return [
          `${rel} ${mode} ${createHash("sha256")
            .update(readFileSync(join(dir, rel)))
            .digest("hex")}`,
        ];
      return [`${rel} not a file or directory`];
    });
}

const expected: Record<"A" | "B", string[]> = { A: [], B: [] };

/** Runs a node process; resolves when it exits. */
function runNode(
  args: string[],
  onLine?: (line: string, kill: () => void) => void,
): Promise<{ pid: number; code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      for (const line of chunk.split("\n").filter(Boolean)) onLine?.(line, () => child.kill("SIGKILL"));
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ pid: child.pid!, code, signal, stdout }));
  });
}

/** The lines of a render's stderr that say what it recovered (the rest are the spec's warnings). */
const recoveredLines = (err: string) => err.split("\n").filter((l) => l.startsWith("recovered: "));

/** Opens (and so recovers) `out` the way the next render does, and closes it again. */
async function recover(out: string): Promise<readonly string[]> {
  const tree = await OutputTree.open(out);
  await tree.close();
  return tree.recovered;
}

beforeAll(async () => {
  work = scratchDir("cdktf-tailnet-faults-");
  writer = await bundle("test/support/tree-writer.ts", work);
  cli = await bundle("cli/bin.ts", work);
  for (const name of ["A", "B"] as const) {
    const out = join(freshParent(), "out");
    await writeTreeAtomically(out, FAULT_TREES[name].files, FAULT_TREES[name].metadata);
    expected[name] = snapshot(out);
  }
}, 60_000);

describe("a render killed at each step", () => {
  type Case = {
    step: WriteStep;
    nth: number;
    before: "A" | undefined;
    left: (id: string) => string[];
    raw: "A" | "B" | undefined;
    after: "A" | "B" | undefined;
    says: (p: Record<string, string>) => string[];
  };
  const lockGone = (p: Record<string, string>) => `removed ${p.lock}: left by render process ${p.pid}, which is no longer running`;
  const stagingGone = (p: Record<string, string>) => `removed ${p.staging}: the unfinished tree of a killed render (it had not replaced ${p.out})`;
  const cases: Case[] = [
    {
      step: "file-written",
      nth: 1,
      before: "A",
      left: (id) => ["out", "out.lock", `out.staging-${id}`],
      raw: "A",
      after: "A",
      says: (p) => [stagingGone(p), lockGone(p)],
    },
    {
      step: "file-written",
      nth: 20,
      before: "A",
      left: (id) => ["out", "out.lock", `out.staging-${id}`],
      raw: "A",
      after: "A",
      says: (p) => [stagingGone(p), lockGone(p)],
    },
    {
      step: "staged",
      nth: 1,
      before: "A",
      left: (id) => ["out", "out.lock", `out.staging-${id}`],
      raw: "A",
      after: "A",
      says: (p) => [stagingGone(p), lockGone(p)],
    },
    {
      step: "old-moved",
      nth: 1,
      before: "A",
      left: (id) => ["out.lock", `out.old-${id}`, `out.staging-${id}`],
      raw: undefined,
      after: "B",
      says: (p) => [
        `finished a render killed between its two renames: moved ${p.staging}, the complete new tree, to ${p.out}`,
        `removed ${p.old}: the previous tree, already replaced by a killed render`,
        lockGone(p),
      ],
    },
    {
      step: "swapped",
      nth: 1,
      before: "A",
      left: (id) => ["out", "out.lock", `out.old-${id}`],
      raw: "B",
      after: "B",
      says: (p) => [`removed ${p.old}: the previous tree, already replaced by a killed render`, lockGone(p)],
    },
    { step: "old-removed", nth: 1, before: "A", left: () => ["out", "out.lock"], raw: "B", after: "B", says: (p) => [lockGone(p)] },
    {
      step: "file-written",
      nth: 5,
      before: undefined,
      left: (id) => ["out.lock", `out.staging-${id}`],
      raw: undefined,
      after: undefined,
      says: (p) => [stagingGone(p), lockGone(p)],
    },
    {
      step: "staged",
      nth: 1,
      before: undefined,
      left: (id) => ["out.lock", `out.staging-${id}`],
      raw: undefined,
      after: undefined,
      says: (p) => [stagingGone(p), lockGone(p)],
    },
    { step: "swapped", nth: 1, before: undefined, left: () => ["out", "out.lock"], raw: "B", after: "B", says: (p) => [lockGone(p)] },
  ];

  // Each case in its own directory, several at once (most of the time is process start-up).
  for (const c of cases) {
    it.concurrent(`${c.step} #${c.nth}, ${c.before ? "replacing tree A" : "into a new directory"}: the next run finds ${c.after ? `tree ${c.after}` : "no tree"}`, async ({
      expect,
    }) => {
      const parent = freshParent();
      const out = join(parent, "out");
      if (c.before) await writeTreeAtomically(out, FAULT_TREES[c.before].files, FAULT_TREES[c.before].metadata);
      const killed = await runNode([writer, out, "kill-at", c.step, String(c.nth), "B"]);
      expect(killed.signal).toBe("SIGKILL");
      const lock = JSON.parse(readFileSync(`${out}.lock`, "utf8")) as { pid: number; id: string };
      expect(lock.pid).toBe(killed.pid);
      expect(readdirSync(parent).sort()).toEqual(c.left(lock.id).sort());
      if (c.raw) expect(snapshot(out)).toEqual(expected[c.raw]);
      const paths = { out, lock: `${out}.lock`, staging: `${out}.staging-${lock.id}`, old: `${out}.old-${lock.id}`, pid: String(lock.pid) };
      expect(await recover(out)).toEqual(c.says(paths));
      expect(readdirSync(parent)).toEqual(c.after ? ["out"] : []);
      if (c.after) expect(snapshot(out)).toEqual(expected[c.after]);
      // The next render goes through.
      expect(await writeTreeAtomically(out, FAULT_TREES.A.files, FAULT_TREES.A.metadata)).toEqual([]);
      expect(snapshot(out)).toEqual(expected.A);
      expect(readdirSync(parent)).toEqual(["out"]);
    });
  }

  it("between the renames, with the new tree incomplete (a disk lost part of it): the old tree is restored", async () => {
    const parent = freshParent();
    const out = join(parent, "out");
    await writeTreeAtomically(out, FAULT_TREES.A.files, FAULT_TREES.A.metadata);
    await runNode([writer, out, "kill-at", "old-moved", "1", "B"]);
    const { id, pid } = JSON.parse(readFileSync(`${out}.lock`, "utf8")) as { pid: number; id: string };
    rmSync(join(`${out}.staging-${id}`, "headscale", "config.yaml"));
    expect(await recover(out)).toEqual([
      `restored ${out} from ${out}.old-${id}: a render was killed before its new tree was complete`,
      `removed ${out}.staging-${id}: the unfinished tree of a killed render (it had not replaced ${out})`,
      `removed ${out}.lock: left by render process ${pid}, which is no longer running`,
    ]);
    expect(snapshot(out)).toEqual(expected.A);
    expect(readdirSync(parent)).toEqual(["out"]);
  });
});

describe("a render killed at random moments", () => {
  it("leaves tree A or tree B whole, or the pieces the next run puts back into one of them", async () => {
    const seen: string[][] = [];
    const once = async () => {
      const parent = freshParent();
      const out = join(parent, "out");
      await writeTreeAtomically(out, FAULT_TREES.A.files, FAULT_TREES.A.metadata);
      const delay = Math.random() * 300;
      // Killed once it is writing trees over and over (after the first is in place).
      await runNode([writer, out, "loop"], (_, kill) => void setTimeout(kill, delay));
      const left = readdirSync(parent)
        .map((e) => e.replace(/-[0-9a-f]{16}$/, "-<id>"))
        .sort();
      seen.push(left);
      if (existsSync(out)) expect([expected.A, expected.B]).toContainEqual(snapshot(out));
      else expect(left).toContain("out.old-<id>");
      const recovered = await recover(out);
      expect(recovered.length > 0).toBe(left.length > 1);
      expect(readdirSync(parent)).toEqual(["out"]);
      expect([expected.A, expected.B]).toContainEqual(snapshot(out));
      expect(await writeTreeAtomically(out, FAULT_TREES.B.files, FAULT_TREES.B.metadata)).toEqual([]);
      expect(snapshot(out)).toEqual(expected.B);
    };
    // 12 kills, three processes at a time.
    for (let round = 0; round < 4; round++) await Promise.all([once(), once(), once()]);
    expect(seen).toHaveLength(12);
    // Most kills land while a tree is being written: a staging tree is left beside `out`.
    expect(seen.filter((left) => left.includes("out.staging-<id>")).length).toBeGreaterThan(0);
  }, 60_000);

  it("the real CLI: each kill leaves the old render or the new one, and the next render recovers and succeeds", async () => {
    const parent = freshParent();
    const out = join(parent, "out");
    const secrets = join(work, "secrets");
    const oldSpec = join(work, "old.yaml");
    const exampleText = readFileSync(EXAMPLE, "utf8");
    expect(exampleText).toContain("name: Hong Kong\n");
    writeFileSync(oldSpec, exampleText.replace("name: Hong Kong\n", "name: Hong Kong Island\n"));
    const quiet = { out: () => undefined, err: () => undefined };
    // The new tree, as an unkilled CLI process renders it (and how long that takes).
    const t0 = Date.now();
    const full = await runNode([cli, "render", EXAMPLE, "--out", out, "--secrets-dir", secrets]);
    const duration = Date.now() - t0;
    expect(full.code).toBe(0);
    const newTree = snapshot(out);
    expect(await runCli(["render", oldSpec, "--out", out, "--secrets-dir", secrets], quiet)).toBe(0);
    const oldTree = snapshot(out);
    expect(oldTree).not.toEqual(newTree);
    for (let i = 0; i < 4; i++) {
      const child = spawn(process.execPath, [cli, "render", EXAMPLE, "--out", out, "--secrets-dir", secrets], { stdio: "ignore" });
      const timer = setTimeout(() => child.kill("SIGKILL"), duration * (0.3 + Math.random()));
      await new Promise((resolve) => child.on("close", resolve));
      clearTimeout(timer);
      const left = readdirSync(parent).sort();
      if (existsSync(out)) expect([oldTree, newTree]).toContainEqual(snapshot(out));
      else expect(left.some((e) => e.startsWith("out.old-"))).toBe(true);
      const err: string[] = [];
      expect(await runCli(["render", EXAMPLE, "--out", out, "--secrets-dir", secrets], { out: () => undefined, err: (t) => err.push(t) })).toBe(0);
      const recovered = recoveredLines(err.join("\n"));
      expect(recovered.length > 0).toBe(left.length > 1);
      for (const line of recovered) expect(line).toMatch(/^recovered: (removed|finished|restored) /);
      expect(snapshot(out)).toEqual(newTree);
      expect(readdirSync(parent)).toEqual(["out"]);
      expect(await runCli(["render", oldSpec, "--out", out, "--secrets-dir", secrets], quiet)).toBe(0);
    }
  }, 60_000);
});

describe("what render refuses to replace", () => {
  const render = async (out: string) => {
    const err: string[] = [];
    const code = await runCli(["render", EXAMPLE, "--out", out, "--secrets-dir", join(work, "secrets")], { out: () => undefined, err: (t) => err.push(t) });
    return { code, err: err.join("\n") };
  };

  it("a directory holding anything its manifest does not list, or not as listed: it names each and the fix", async () => {
    const out = join(freshParent(), "out");
    expect((await render(out)).code).toBe(0);
    writeFileSync(join(out, "notes.txt"), "mine");
    mkdirSync(join(out, "backups", "old"), { recursive: true });
    writeFileSync(join(out, "backups", "old", "db.sqlite"), "precious");
    writeFileSync(join(out, "derp.json"), "{}\n");
    rmSync(join(out, "headscale", "policy.json"));
    const before = snapshot(out);
    const r = await render(out);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `cdktf-tailnet render: ${out} does not hold exactly the tree cdktf-tailnet rendered there, and a render replaces the whole directory:\n` +
        "  not rendered by cdktf-tailnet: backups/, notes.txt\n" +
        "  changed since rendered: derp.json\n" +
        "  missing: headscale/policy.json\n" +
        `  fix: move what you want to keep out of ${out} (or delete it), or choose another --out`,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it("a manifest alone does not make a directory the kit's", async () => {
    const out = join(freshParent(), "out");
    mkdirSync(out);
    writeFileSync(join(out, ".cdktf-tailnet-manifest.json"), "{}");
    writeFileSync(join(out, "notes.txt"), "mine");
    const r = await render(out);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `cdktf-tailnet render: ${out} is not empty and was not written by cdktf-tailnet (no .cdktf-tailnet-manifest.json): .cdktf-tailnet-manifest.json, notes.txt\n  fix: choose a new or empty --out directory`,
    );
    expect(readdirSync(out).sort()).toEqual([".cdktf-tailnet-manifest.json", "notes.txt"]);
  });

  it("a symbolic link: never followed, never replaced", async () => {
    const parent = freshParent();
    const real = join(parent, "real");
    expect((await render(real)).code).toBe(0);
    const before = snapshot(real);
    symlinkSync("real", join(parent, "out"));
    const r = await render(join(parent, "out"));
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `cdktf-tailnet render: ${parent}/out is a symbolic link (to ${real}); render never follows or replaces a link\n  fix: pass --out ${real} to render into the directory it points to, or remove the link`,
    );
    expect(lstatSync(join(parent, "out")).isSymbolicLink()).toBe(true);
    expect(snapshot(real)).toEqual(before);
    expect(readdirSync(parent).sort()).toEqual(["out", "real"]);
  });

  it("a file, and an empty directory (which it fills)", async () => {
    const parent = freshParent();
    writeFileSync(join(parent, "out"), "a file");
    const r = await render(join(parent, "out"));
    expect(r.err).toBe(`cdktf-tailnet render: ${parent}/out exists and is not a directory\n  fix: choose another --out, or move the file away`);
    rmSync(join(parent, "out"));
    mkdirSync(join(parent, "out"));
    expect((await render(join(parent, "out"))).code).toBe(0);
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  it("a render running into the same directory; a lock whose process is gone is taken over", async () => {
    const parent = freshParent();
    const out = join(parent, "out");
    writeFileSync(`${out}.lock`, `${JSON.stringify({ pid: process.ppid, id: "0123456789abcdef" })}\n`);
    const busy = await render(out);
    expect(busy.code).toBe(2);
    expect(busy.err).toBe(
      `cdktf-tailnet render: another render (process ${process.ppid}) is writing ${out}\n  fix: wait for it to finish; if no such process is running, delete ${out}.lock`,
    );
    // The same process, named with its start time as the kit writes it: still busy.
    writeFileSync(`${out}.lock`, `${JSON.stringify({ pid: process.ppid, startTime: processId(process.ppid)!.startTime, id: "0123456789abcdef" })}\n`);
    expect((await render(out)).code).toBe(2);
    const gone = (await runNode(["-e", ""])).pid;
    writeFileSync(`${out}.lock`, `${JSON.stringify({ pid: gone, id: "0123456789abcdef" })}\n`);
    const taken = await render(out);
    expect(taken.code).toBe(0);
    expect(recoveredLines(taken.err)).toEqual([`recovered: removed ${out}.lock: left by render process ${gone}, which is no longer running`]);
    // A live pid with another start time is a later process that reused the pid: the lock is taken over.
    writeFileSync(`${out}.lock`, `${JSON.stringify({ pid: process.ppid, startTime: "1", id: "0123456789abcdef" })}\n`);
    const reused = await render(out);
    expect(reused.code).toBe(0);
    expect(recoveredLines(reused.err)).toEqual([`recovered: removed ${out}.lock: left by render process ${process.ppid}, which is no longer running`]);
    writeFileSync(`${out}.lock`, "");
    expect(recoveredLines((await render(out)).err)).toEqual([`recovered: removed ${out}.lock: left by a render killed as it started`]);
    writeFileSync(`${out}.lock`, "my own lock file");
    expect((await render(out)).err).toBe(
      `cdktf-tailnet render: ${out}.lock exists and was not written by cdktf-tailnet\n  fix: move it away, or choose another --out`,
    );
    expect(readdirSync(parent).sort()).toEqual(["out", "out.lock"]);
  });

  it("two earlier trees and no current one: it cannot tell which to restore, and says so", async () => {
    const parent = freshParent();
    const out = join(parent, "out");
    for (const id of ["0000000000000001", "0000000000000002"]) await writeTreeAtomically(`${out}.old-${id}`, FAULT_TREES.A.files);
    const r = await render(out);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `cdktf-tailnet render: ${out} is missing and 2 earlier trees are beside it (out.old-0000000000000001, out.old-0000000000000002); cannot tell which to restore\n` +
        "  fix: rename the one to keep to out and delete the others, then render again",
    );
    // Nothing was touched, and the lock it took is gone again.
    expect(readdirSync(parent).sort()).toEqual(["out.old-0000000000000001", "out.old-0000000000000002"]);
  });
});
