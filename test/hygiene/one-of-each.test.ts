/**
 * One of each: the kit quotes for sh in one module (render/escape/shell.ts), flushes files to disk
 * in one (fsx/atomic-file.ts, whose writeFileAtomic is the one atomic writer), parses IP
 * addresses and joins host and port in one (model/net.ts), tells whether a process still runs in one (fsx/process-id.ts:
 * pid and start time) and issues certificates with one issuer (secrets/x509.ts, never
 * the openssl command line). The tests make their independent fixture certificates with openssl in
 * one place too (test/support/openssl.ts), on purpose: they cross-check the kit's issuer. A second
 * one written anywhere in the kit's sources or the tests' support code fails here, naming where.
 */
import { describe, expect, it } from "vitest";
import { readSources } from "../support/sources.js";

const PLACES = ["model", "render", "fsx", "cli", "secrets", "lab", "constructs", "bench", "examples", "main.ts", "test/support"];

const sources = readSources(PLACES);

/** The files other than `homes` whose text matches `pattern`. */
const elsewhere = (pattern: RegExp, ...homes: string[]) => sources.filter((s) => !homes.includes(s.file) && pattern.test(s.text)).map((s) => s.file);

describe("one of each", () => {
  it("reads the kit's sources", () => {
    expect(sources.length).toBeGreaterThan(150);
  });

  it("one shell quoter: only render/escape/shell.ts escapes a single quote for sh", () => {
    expect(elsewhere(/'\\\\''/, "render/escape/shell.ts")).toEqual([]);
  });

  it("one atomic writer: only fsx/atomic-file.ts flushes files to disk", () => {
    expect(elsewhere(/\bfsyncSync\b|\bfdatasync|\.sync\(\)|\bfsync\(/, "fsx/atomic-file.ts")).toEqual([]);
  });

  it("one IP library: only model/net.ts takes isIP, isIPv4 or isIPv6 from node:net", () => {
    expect(elsewhere(/import\s*\{[^}]*\bisIP(v4|v6)?\b[^}]*\}\s*from\s*"(node:)?net"/, "model/net.ts")).toEqual([]);
  });

  it("one process identity: only fsx/process-id.ts asks whether a pid runs (signal 0) or reads its start time", () => {
    expect(elsewhere(/\.kill\([^,()]+,\s*0\s*\)|\/proc\/\$\{[^}]+\}\/stat\b/, "fsx/process-id.ts")).toEqual([]);
  });

  it("one host:port joiner: only model/net.ts (joinHostPort) puts an IPv6 host in brackets", () => {
    expect(elsewhere(/\.includes\(":"\)\s*\?\s*`\[/, "model/net.ts")).toEqual([]);
  });

  it("one certificate issuer: nothing but the tests' fixture maker runs the openssl command line to make a certificate", () => {
    expect(
      elsewhere(
        /\b(execFile|execFileSync|spawn|spawnSync|execa|run)\s*\(\s*["']openssl["']|["'](req|ca|x509)["'],\s*["']-x509["']|["']-newkey["']/,
        "secrets/x509.ts",
        "test/support/openssl.ts",
      ),
    ).toEqual([]);
  });
});
