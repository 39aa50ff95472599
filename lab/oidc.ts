/**
 * OpenID Connect logins in the lab. When the model has an `oidc` block, the lab runs an OpenID
 * Connect provider of its own in a namespace (`headscale mockoidc`, the provider headscale ships
 * for its own tests), points headscale's rendered `oidc` block at it (issuer and client secret:
 * the only two changes; PKCE, allowed users/domains/groups, only_start_if_oidc_is_available stay
 * as rendered), and starts it before headscale, which refuses to start without it when the block
 * says so. The `oidc-login` check then logs a tailscaled in with no browser:
 * - `tailscale up` without a key prints a login URL; the lab follows it with curl and a cookie
 *   jar (headscale -> the provider, which logs its next queued user in -> headscale's callback;
 *   headscale 0.29's confirmation form is posted back with its CSRF token);
 * - the node must register as the provider's user;
 * - then, logged out, the same client logs in as a user outside the allowed users, domains and
 *   groups, and headscale must refuse it.
 */
import { join } from "node:path";
import type { ResolvedOidc, ResolvedTailnet } from "../model/index.js";
import { listNodes, short, timed, type CheckContext, type HeadscaleNode, type LabCheck } from "./checks.js";
import type { LabChange } from "./lab-changes.js";
import type { RunResult } from "./runtime.js";

/** Where the lab's provider listens. */
export const OIDC_PROVIDER_PORT = 5556;

/** A user of the lab's provider (mockoidc's JSON shape). */
export interface LabOidcUser {
  readonly Subject: string;
  readonly Email: string;
  readonly EmailVerified: boolean;
  readonly PreferredUsername: string;
  readonly Groups: readonly string[];
}

/** Who the lab's provider logs in, in order: the check's login, then the one headscale must refuse. */
export interface LabOidcUsers {
  /** The first login: a user the model's allowed lists admit (or, broken on purpose, one they do not). */
  readonly first: LabOidcUser;
  /** The second login: outside the allowed lists; undefined when the model allows everyone. */
  readonly outsider: LabOidcUser | undefined;
  /** What the model restricts logins to, for messages (`allowedUsers a@x; allowedGroups g`). */
  readonly restrictions: string;
}

const user = (subject: string, email: string, groups: readonly string[]): LabOidcUser => ({
  Subject: subject,
  Email: email,
  EmailVerified: true,
  PreferredUsername: email.slice(0, email.indexOf("@")),
  Groups: groups,
});

/**
 * The provider's users for the model's `oidc`: a user every allowed list admits (the first
 * allowed user's address, else a user of the first allowed domain; a member of the first allowed
 * group), and one none admits. `notAllowed`: the first login is the outsider too (the
 * `oidc-user-not-allowed` break).
 */
export function labOidcUsers(oidc: ResolvedOidc, notAllowed = false): LabOidcUsers {
  const email = oidc.allowedUsers[0] ?? `lab-user@${oidc.allowedDomains[0] ?? "example.com"}`;
  const allowed = user("lab-user", email, oidc.allowedGroups.slice(0, 1));
  const restricted = oidc.allowedUsers.length + oidc.allowedDomains.length + oidc.allowedGroups.length > 0;
  // A domain no list names, a group no list names.
  const outsider = restricted ? user("lab-outsider", "outsider@outside.invalid", ["lab-outsiders"]) : undefined;
  const restrictions = [
    ...(oidc.allowedUsers.length ? [`allowedUsers ${oidc.allowedUsers.join(", ")}`] : []),
    ...(oidc.allowedDomains.length ? [`allowedDomains ${oidc.allowedDomains.join(", ")}`] : []),
    ...(oidc.allowedGroups.length ? [`allowedGroups ${oidc.allowedGroups.join(", ")}`] : []),
  ].join("; ");
  return {
    first: notAllowed && outsider ? outsider : allowed,
    outsider,
    restrictions: restrictions || "no allowed users, domains or groups: everyone may log in",
  };
}

/** The issuer of the lab's provider (mockoidc serves `/oidc` on plain HTTP). */
export function labOidcIssuer(providerAddress: string): string {
  return `http://${providerAddress}:${OIDC_PROVIDER_PORT}/oidc`;
}

/**
 * Points the rendered `oidc` block at the lab's provider: its issuer and a client secret of the
 * run. Changed in the resolved model (the spec's grammar admits only https issuers; the lab's
 * provider is plain HTTP inside the namespaces), each change listed.
 */
export function pointOidcAtLab<T extends ResolvedTailnet>(
  tailnet: T,
  lab: { readonly issuer: string; readonly clientSecretFile: string },
  note: (c: LabChange) => void,
): T {
  const oidc = tailnet.headscale.oidc;
  if (!oidc) return tailnet;
  note({
    subject: "headscale.oidc.issuer",
    from: oidc.issuer,
    to: lab.issuer,
    why: "no identity provider of yours is reachable in a lab: headscale's own test provider (`headscale mockoidc`, plain HTTP in its namespace) stands in",
  });
  note({
    subject: "headscale.oidc.clientSecretPath",
    from: oidc.clientSecretPath,
    to: lab.clientSecretFile,
    why: "a client secret of the run, which the lab's provider holds too",
  });
  return { ...tailnet, headscale: { ...tailnet.headscale, oidc: { ...oidc, issuer: lab.issuer, clientSecretPath: lab.clientSecretFile } } };
}

/** The environment of `headscale mockoidc` (the client secret is a random one of the run). */
export function mockOidcEnv(oidc: ResolvedOidc, providerAddress: string, clientSecret: string, users: LabOidcUsers): Record<string, string> {
  return {
    MOCKOIDC_ADDR: providerAddress,
    MOCKOIDC_PORT: String(OIDC_PROVIDER_PORT),
    MOCKOIDC_CLIENT_ID: oidc.clientId,
    MOCKOIDC_CLIENT_SECRET: clientSecret,
    MOCKOIDC_USERS: JSON.stringify([users.first, ...(users.outsider ? [users.outsider] : [])]),
  };
}

/** What the check needs besides the common context. */
export interface OidcLoginContext {
  /** The login machine (its tailscaled is started by `startTailscaled`). */
  readonly machine: string;
  readonly serverUrl: string;
  readonly users: LabOidcUsers;
  readonly oidc: ResolvedOidc;
  /** Starts the login machine's tailscaled; resolves once its socket is there. */
  startTailscaled(): Promise<void>;
  /** `curl <args>` in the login machine. */
  curl(args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** A file for curl's cookie jar. */
  readonly cookieJar: string;
}

interface Followed {
  readonly code: number;
  readonly url: string;
  readonly body: string;
}

const MARK = "\n@@lab@@";

/** One request with curl, redirects followed, cookies kept in the jar. */
async function request(login: OidcLoginContext, args: readonly string[]): Promise<Followed> {
  const r = await login.curl(
    [
      "-sS",
      "-L",
      "--max-redirs",
      "10",
      "--max-time",
      "15",
      "-c",
      login.cookieJar,
      "-b",
      login.cookieJar,
      "-w",
      `${MARK}%{http_code} %{url_effective}`,
      ...args,
    ],
    20_000,
  );
  const at = r.stdout.lastIndexOf(MARK);
  if (at < 0) throw new Error(`curl ${args.at(-1)} failed (${r.code}): ${short((r.stderr || r.stdout).trim(), 200)}`);
  const [code, url] = r.stdout
    .slice(at + MARK.length)
    .trim()
    .split(" ");
  return { code: Number(code), url: url ?? "", body: r.stdout.slice(0, at) };
}

const decode = (s: string) => s.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">");

/** A form's action and its hidden fields, from an HTML page. */
export function parseForm(html: string): { action: string; fields: Record<string, string> } | undefined {
  const form = /<form\b[^>]*>/i.exec(html)?.[0];
  const action = form && /\baction="([^"]*)"/i.exec(form)?.[1];
  if (action === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const [input] of html.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input)?.[1];
    if (name !== undefined) fields[decode(name)] = decode(/\bvalue="([^"]*)"/i.exec(input)?.[1] ?? "");
  }
  return { action: decode(action), fields };
}

/** Follows a login URL the way a browser would, with no one clicking: every redirect, and a confirmation form if headscale shows one. */
async function followLogin(login: OidcLoginContext, authUrl: string): Promise<{ final: Followed; steps: string[] }> {
  const steps: string[] = [];
  let final = await request(login, [authUrl]);
  steps.push(`GET ${authUrl} -> ${final.code} at ${final.url}`);
  const form = final.code === 200 ? parseForm(final.body) : undefined;
  if (form?.action.includes("/register/confirm/")) {
    const target = new URL(form.action, final.url).toString();
    const data = Object.entries(form.fields).flatMap(([k, v]) => ["--data-urlencode", `${k}=${v}`]);
    final = await request(login, [...data, target]);
    steps.push(`POST ${target} (the confirmation form, ${Object.keys(form.fields).length} field(s)) -> ${final.code}`);
  }
  return { final, steps };
}

/** A page's visible text (no styles, scripts or tags), cut short. */
const text = (html: string) =>
  short(
    html
      .replace(/<(style|script|head)\b[\s\S]*?<\/\1>/gi, " ")
      .replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
    160,
  );

/** `tailscale up` with no key in the background; resolves with the login URL it prints (from `tailscale status`). */
async function startLogin(
  ctx: CheckContext,
  login: OidcLoginContext,
  hostname: string,
  timeoutS: number,
): Promise<{ authUrl: string; up: Promise<RunResult> }> {
  const up = ctx.tailscale(
    login.machine,
    ["up", `--login-server=${login.serverUrl}`, `--hostname=${hostname}`, "--force-reauth", `--timeout=${timeoutS}s`],
    (timeoutS + 10) * 1000,
  );
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const r = await ctx.tailscale(login.machine, ["status", "--json"]);
    const authUrl = (JSON.parse(r.stdout || "{}") as { AuthURL?: string }).AuthURL;
    if (authUrl) return { authUrl, up };
    await ctx.pause(200);
  }
  const r = await up;
  throw new Error(`tailscale up printed no login URL in 15 s: ${short((r.stderr || r.stdout).trim(), 200)}`);
}

const nodeOf = async (ctx: CheckContext, hostname: string): Promise<HeadscaleNode | undefined> =>
  (await listNodes(ctx)).find((n) => n.given_name === hostname || n.name === hostname);

/**
 * `oidc-login`: a client logs in through the provider with no browser and registers as its
 * user; then a user outside the allowed lists is refused.
 */
export async function checkOidcLogin(ctx: CheckContext, login: OidcLoginContext): Promise<LabCheck> {
  const hostname = "oidc-login";
  const { first, outsider } = login.users;
  return timed(
    ctx,
    "oidc-login",
    `login through OpenID Connect (${login.oidc.pkce.enabled ? `PKCE ${login.oidc.pkce.method}` : "no PKCE"}): ${first.Email} registers, a user outside the allowed lists is refused`,
    async () => {
      const t0 = Date.now();
      await login.startTailscaled();
      const { authUrl, up } = await startLogin(ctx, login, hostname, 40);
      const { final, steps } = await followLogin(login, authUrl);
      const refusedAtOnce = final.code >= 400;
      // A refused login never completes: the pending `tailscale up` gives up by itself.
      if (refusedAtOnce) up.catch(() => undefined);
      const joined = refusedAtOnce ? undefined : await up;
      const node = await nodeOf(ctx, hostname);
      const registeredAs = node?.user;
      if (joined?.code !== 0 || !node) {
        const upSaid = joined ? `; tailscale up: ${short((joined.stderr || joined.stdout).trim() || `exit ${joined.code}`, 160)}` : "";
        return {
          status: "fail",
          detail: `headscale did not register ${first.Email} (${login.users.restrictions}): the login ended with HTTP ${final.code} "${text(final.body)}"${upSaid}`,
          data: { steps, final: { code: final.code, url: final.url } },
        };
      }
      if (registeredAs?.name !== first.PreferredUsername && registeredAs?.email !== first.Email) {
        return {
          status: "fail",
          detail: `the node registered as user ${JSON.stringify(registeredAs)}, not the provider's ${first.Email}`,
          data: { steps, node },
        };
      }
      const loggedInMs = Date.now() - t0;
      const loggedIn = `${first.Email} logged in without a browser (${steps.length} step(s): ${steps.map((s) => s.split(" -> ")[0]!.split(" ")[0]).join(", ")}) and ${hostname} registered as user ${registeredAs?.name ?? "?"} (${loggedInMs} ms)`;
      if (!outsider)
        return { status: "pass", detail: `${loggedIn}; the model allows every user (${login.users.restrictions}), so none was refused`, data: { steps, node } };

      // The outsider: logged out, the same client logs in again.
      const out = await ctx.tailscale(login.machine, ["logout"]);
      if (out.code !== 0) throw new Error(`tailscale logout failed: ${short((out.stderr || out.stdout).trim(), 200)}`);
      const before = (await listNodes(ctx)).length;
      const second = await startLogin(ctx, login, `${hostname}-outsider`, 10);
      const refused = await followLogin(login, second.authUrl);
      // Refused: no node joins (the pending `tailscale up` gives up by itself, 10 s after it started).
      second.up.catch(() => undefined);
      await ctx.pause(1_000);
      const nodes = await listNodes(ctx);
      const admitted = nodes.filter((n) => n.user?.email === outsider.Email);
      if (refused.final.code === 200 || admitted.length > 0 || nodes.length > before) {
        return {
          status: "fail",
          detail: `${loggedIn}; but headscale let ${outsider.Email} in too (${login.users.restrictions})`,
          data: { steps, refused: refused.steps },
        };
      }
      return {
        status: "pass",
        detail: `${loggedIn}; ${outsider.Email} was refused with HTTP ${refused.final.code} "${text(refused.final.body)}" (${login.users.restrictions})`,
        data: { steps, refused: refused.steps, node },
      };
    },
  );
}

/** The lab's OpenID Connect provider and login client in a run, when the model has `oidc`. */
export interface LabOidcRun {
  /** The provider's machine. */
  readonly provider: string;
  /** The machine of the client that logs in through it. */
  readonly login: string;
  readonly issuer: string;
  readonly users: LabOidcUsers;
  readonly files: ReturnType<typeof oidcRunFiles>;
  /** headscale mockoidc's environment (holds the run's client secret). */
  readonly env: Record<string, string>;
}

/** Paths of the run the provider and the login use. */
export function oidcRunFiles(runDir: string): { readonly clientSecretFile: string; readonly cookieJar: string } {
  return { clientSecretFile: join(runDir, "oidc", "client-secret"), cookieJar: join(runDir, "oidc", "cookies.txt") };
}
