/**
 * The doctor's version findings: the running headscale's release (headscale 0.27 and later answer
 * `GET /version` on the main listener with JSON whose `version` is the release, e.g.
 * `{"version":"v0.29.3","commit":...}`; `hscontrol/handlers.go` VersionHandler) judged against
 * the spec's target and the known advisories, and what Tailscale clients should run with it.
 */
import { advisoriesFor, advisoryLabel, clientAdvice, findHeadscaleVersion, planUpgrade, safeHeadscaleVersion, type ResolvedTailnet } from "../model/index.js";
import type { DoctorFinding } from "./doctor-finding.js";

/** The release in a `/version` answer (no leading `v`), or undefined when it names none (a `dev` build). */
export function releaseOfVersionAnswer(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const version = (parsed as { version?: unknown } | null)?.version;
  if (typeof version !== "string") return undefined;
  const m = /^v?(\d+\.\d+\.\d+)$/.exec(version.trim());
  return m?.[1];
}

/**
 * Judges headscale's answer to `GET /version`: it fails when the running release is not the one
 * the spec targets, is one the kit does not know, or has a known advisory.
 */
export function headscaleVersionFinding(tailnet: ResolvedTailnet, target: string, answer: { status: number; body: string }): DoctorFinding {
  const check = "headscale version";
  const wanted = tailnet.headscale.version;
  if (answer.status !== 200) {
    return {
      check,
      target,
      ok: false,
      detail: `GET /version answered ${answer.status}`,
      fix: "headscale 0.27 and later answer GET /version: a proxy in front of headscale must pass it through",
    };
  }
  const running = releaseOfVersionAnswer(answer.body);
  if (running === undefined) {
    return {
      check,
      target,
      ok: true,
      detail: `names no release (${answer.body.trim().slice(0, 60)}): a development build, not compared with the kit's table`,
      fix: "",
    };
  }
  const known = findHeadscaleVersion(running);
  const advisories = advisoriesFor("headscale", running);
  const problems: string[] = [];
  const fixes: string[] = [];
  if (running !== wanted.version) {
    problems.push(`runs ${running}, the spec targets ${wanted.version}`);
    const plan = known ? planUpgrade(known, wanted) : undefined;
    fixes.push(plan && !plan.ok ? plan.explanation : `deploy the spec's headscale ${wanted.version} (render and apply)`);
  }
  if (!known) {
    problems.push(`${running} is not a release the kit renders for`);
  }
  if (advisories.length > 0) {
    problems.push(`${running} has known advisories: ${advisories.map(advisoryLabel).join("; ")}`);
    const safe = safeHeadscaleVersion();
    if (safe && wanted.version !== safe) fixes.push(`set headscale.version to ${safe} (\`cdktf-tailnet versions\` lists each advisory) and deploy`);
  }
  if (problems.length === 0) return { check, target, ok: true, detail: `runs ${running}, the release the spec targets; no known advisory`, fix: "" };
  return { check, target, ok: false, detail: problems.join("; "), fix: [...new Set(fixes)].join("; ") || "see `cdktf-tailnet versions`" };
}

/** What Tailscale clients should run with the headscale release that runs (or, unknown, the spec's). */
export function clientFinding(tailnet: ResolvedTailnet, target: string, running: string | undefined): DoctorFinding {
  const version = (running && findHeadscaleVersion(running)) || tailnet.headscale.version;
  return { check: "tailscale clients", target, ok: true, detail: clientAdvice(version).join("; "), fix: "" };
}
