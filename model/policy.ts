/**
 * The access policy: users, groups, tag owners, ACLs and auto-approvers, resolved into the shape
 * headscale's policy file has, and checked so that every reference resolves. Auto-approvers for
 * the routes and exit nodes the model's devices advertise are derived here, once.
 */
import { type IssueList, joinPath } from "./issues.js";
import type { CheckContext } from "./context.js";
import { DEFAULTS, defaultName } from "./defaults.js";
import { checkTailnetWideAddress } from "./addresses.js";
import { hasHostBits, isIp, networkOf, parseGoDuration, parsePrefix, prefixWithin, TAILSCALE_CGNAT, TAILSCALE_ULA } from "./net.js";
import type { PolicyElement, ResolvedSoFar } from "./elements.js";
import type { ResolvedPolicy, ResolvedUser } from "./resolved.js";
import type { AclRuleSpec, DeviceSpec, PolicySpec, TailnetSpec, UserSpec } from "./spec.js";

/** The default ACL when the spec gives none: everyone reaches everything (headscale's own default without a policy). */
export const ALLOW_ALL_ACL: AclRuleSpec = { src: ["*"], dst: ["*:*"] };

/** The tailnet's node prefixes outside Tailscale's ranges (allowed with `prefixes.allowNonStandard`). */
export function nonStandardNodePrefixes(prefixes: { readonly v4: string | undefined; readonly v6: string | undefined }): string[] {
  return [prefixes.v4, prefixes.v6].filter((text): text is string => {
    const prefix = text === undefined ? undefined : parsePrefix(text);
    return prefix !== undefined && !prefixWithin(prefix, TAILSCALE_CGNAT) && !prefixWithin(prefix, TAILSCALE_ULA);
  });
}

/**
 * The allow-all ACL for a tailnet's node prefixes. headscale 0.29 reads `*` as Tailscale's ranges
 * (100.64.0.0/10, fd7a:115c:a1e0::/48) and the approved routes, no longer as every address, so
 * nodes of a non-standard prefix are named too: everyone still reaches everything, as without a policy.
 */
export function allowAllAcl(nodePrefixes: { readonly v4: string | undefined; readonly v6: string | undefined }): AclRuleSpec {
  const extra = nonStandardNodePrefixes(nodePrefixes);
  return extra.length === 0 ? ALLOW_ALL_ACL : { src: ["*", ...extra], dst: ["*:*", ...extra.map((p) => `${p}:*`)] };
}

const USER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;

/** The names of the model's users: declared ones and those devices name (unsorted). */
function userNamesOf(spec: TailnetSpec, tailnetName: string): Set<string> {
  const names = new Set<string>();
  for (const u of spec.users ?? []) if (u?.name !== undefined) names.add(u.name);
  for (const d of spec.devices ?? []) if (d) names.add(d.user ?? tailnetName);
  return names;
}

/** Users of the model: declared ones, then those devices name (a device without one belongs to the tailnet's name). */
export function defaultUsers(spec: TailnetSpec): ResolvedUser[] {
  const tailnetName = defaultName(spec);
  const declared = new Map<string, UserSpec>();
  for (const u of spec.users ?? []) if (!declared.has(u.name)) declared.set(u.name, u);
  return [...userNamesOf(spec, tailnetName)]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => {
      const key = declared.get(name)?.preAuthKey;
      return { name, preAuthKey: { reusable: key?.reusable ?? false, ephemeral: key?.ephemeral ?? false, expiration: key?.expiration ?? "24h" } };
    });
}

/** `alice` and `alice@` both mean user alice; returns undefined for anything else. */
function userOf(alias: string): string | undefined {
  const name = alias.endsWith("@") ? alias.slice(0, -1) : alias;
  return USER_NAME.test(name) && !alias.includes(":") ? name : undefined;
}

/** How headscale spells an alias: users get their trailing `@`. */
function spell(alias: string, hosts: Readonly<Record<string, string>>): string {
  if (alias === "*" || alias.startsWith("group:") || alias.startsWith("tag:") || alias.startsWith("autogroup:") || Object.hasOwn(hosts, alias)) return alias;
  if (looksLikeAddress(alias) && (isIp(alias) || parsePrefix(alias))) return alias;
  const user = userOf(alias);
  return user ? `${user}@` : alias;
}

/** Splits `alias:ports`; IPv6 prefixes keep their colons. */
export function splitDestination(dst: string): { alias: string; ports: string } | undefined {
  const i = dst.lastIndexOf(":");
  if (i <= 0) return undefined;
  return { alias: dst.slice(0, i), ports: dst.slice(i + 1) };
}

const PORTS = /^(\*|\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*)$/;

function deviceApprover(device: DeviceSpec, tailnetName: string): string[] {
  return device.tags && device.tags.length > 0 ? [...device.tags] : [`${device.user ?? tailnetName}@`];
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/**
 * Whether the kit renders a policy the spec does not have: devices advertise routes or exit nodes,
 * and headscale's policy is the kit's to write (mode `file`, no file of the user's own). Without
 * it headscale applies no policy, so every node reaches every other, but each advertised route
 * waits for `headscale nodes approve-routes`; the derived policy keeps the first and removes the
 * second. With a policy in the database or a file of the user's own, a warning says what to add
 * (model/warnings.ts).
 */
export function derivesPolicy(spec: TailnetSpec): boolean {
  if (spec.policy !== undefined || spec.headscale?.policy?.mode === "database" || (spec.headscale?.policy?.path ?? "") !== "") return false;
  return (spec.devices ?? []).some((d) => (d?.advertiseRoutes?.length ?? 0) > 0 || d?.exitNode === true);
}

/** Whether the kit renders headscale's policy file: the spec has a policy, or one is derived. */
export function rendersPolicy(spec: TailnetSpec): boolean {
  return spec.policy !== undefined || derivesPolicy(spec);
}

/**
 * The policy's first pass, when the spec has one or the kit derives one (`derivesPolicy`). Tags
 * devices carry without an owner in the spec are owned by the device's user; the devices' routes
 * and exit nodes become auto-approvers. A policy without ACLs allows all, which depends on the node
 * prefixes: the second pass (`resolvePolicy`) writes that rule.
 */
export function defaultPolicy(spec: TailnetSpec): PolicyElement | undefined {
  const tailnetName = defaultName(spec);
  const p: PolicySpec | undefined = spec.policy ?? (derivesPolicy(spec) ? {} : undefined);
  if (!p) return undefined;
  const hosts = p.hosts ?? {};
  const groups = Object.fromEntries(
    Object.entries(p.groups ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([g, members]) => [g, members.map((m) => spell(m, hosts))]),
  );
  const tagOwners: Record<string, string[]> = Object.fromEntries(
    Object.entries(p.tagOwners ?? {}).map(([t, owners]) => [t, owners.map((o) => spell(o, hosts))]),
  );
  for (const device of spec.devices ?? []) {
    for (const tag of device.tags ?? []) tagOwners[tag] ??= [`${device.user ?? tailnetName}@`];
  }
  const routes: Record<string, string[]> = {};
  for (const [prefix, approvers] of Object.entries(p.autoApprovers?.routes ?? {})) routes[prefix] = approvers.map((a) => spell(a, hosts));
  const exitNode: string[] = (p.autoApprovers?.exitNode ?? []).map((a) => spell(a, hosts));
  for (const device of spec.devices ?? []) {
    for (const route of device.advertiseRoutes ?? []) routes[route] = sortedUnique([...(routes[route] ?? []), ...deviceApprover(device, tailnetName)]);
    if (device.exitNode) exitNode.push(...deviceApprover(device, tailnetName));
  }
  const sortedHosts = Object.fromEntries(Object.entries(hosts).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    groups,
    tagOwners: Object.fromEntries(Object.entries(tagOwners).sort(([a], [b]) => (a < b ? -1 : 1))),
    hosts: sortedHosts,
    acls: p.acls === undefined ? "allow-all" : p.acls.map((rule) => policyRule(rule, sortedHosts)),
    autoApprovers: {
      routes: Object.fromEntries(
        Object.entries(routes)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => [k, sortedUnique(v)]),
      ),
      exitNode: sortedUnique(exitNode),
    },
    randomizeClientPort: p.randomizeClientPort ?? DEFAULTS.policy.randomizeClientPort,
    origin: spec.policy ? "spec" : "derived",
  };
}

/** The policy's second pass: a policy without ACLs gets the allow-all rule for the tailnet's node prefixes (`allowAllAcl`). */
export function resolvePolicy(ctx: ResolvedSoFar<"headscale">): ResolvedPolicy | undefined {
  const policy = ctx.policy;
  if (!policy) return undefined;
  const nodePrefixes = ctx.resolved.headscale.prefixes;
  return { ...policy, acls: policy.acls === "allow-all" ? [policyRule(allowAllAcl(nodePrefixes), policy.hosts)] : policy.acls };
}

/** One ACL rule as headscale reads it: users spelled `name@`, destinations `alias:ports`. */
function policyRule(rule: AclRuleSpec, hosts: Readonly<Record<string, string>>): ResolvedPolicy["acls"][number] {
  return {
    action: "accept" as const,
    src: rule.src.map((s) => spell(s, hosts)),
    dst: rule.dst.map((d) => {
      const split = splitDestination(d);
      return split ? `${spell(split.alias, hosts)}:${split.ports}` : d;
    }),
    ...(rule.proto !== undefined && { proto: rule.proto }),
  };
}

/** What the checks need to know about the rest of the spec, indexed once. */
interface PolicyContext {
  readonly users: ReadonlySet<string>;
  readonly policy: PolicySpec;
  /** Tags with an owner in policy.tagOwners or carried by a device. */
  readonly tags: ReadonlySet<string>;
  readonly issues: IssueList;
}

/** Cheap first test for an address or prefix: they hold a dot or a colon (user names hold neither). */
function looksLikeAddress(alias: string): boolean {
  return alias.includes(".") || alias.includes(":");
}

/** At most a few names, for a fix that suggests some. */
function someOf(names: Iterable<string>, none: string): string {
  const all = [...names];
  const shown = all
    .slice(0, 10)
    .map((n) => JSON.stringify(n))
    .join(", ");
  return all.length === 0 ? none : all.length > 10 ? `${shown} (or one of ${all.length - 10} more)` : shown;
}

function checkReference(ctx: PolicyContext, path: string, alias: string, allowed: { prefixes: boolean; star: boolean }): void {
  const groups = ctx.policy.groups ?? {};
  const hosts = ctx.policy.hosts ?? {};
  if (alias === "*") {
    if (!allowed.star) ctx.issues.add(path, `"*" is not allowed here`, "name users, groups or tags");
  } else if (alias.startsWith("group:")) {
    if (!Object.hasOwn(groups, alias))
      ctx.issues.add(
        path,
        `names ${JSON.stringify(alias)}, which policy.groups does not define`,
        `define it in policy.groups, or use one of ${someOf(Object.keys(groups), "(no groups yet)")}`,
      );
  } else if (alias.startsWith("tag:")) {
    if (!ctx.tags.has(alias))
      ctx.issues.add(
        path,
        `names ${JSON.stringify(alias)}, which has no owner in policy.tagOwners and no device carries`,
        `add policy.tagOwners[${JSON.stringify(alias)}] with its owners`,
      );
  } else if (alias.startsWith("autogroup:")) {
    if (!["autogroup:member", "autogroup:tagged", "autogroup:internet", "autogroup:self"].includes(alias))
      ctx.issues.add(
        path,
        `${JSON.stringify(alias)} is not an autogroup headscale knows`,
        "use autogroup:member, autogroup:tagged, autogroup:self or autogroup:internet",
      );
  } else if (Object.hasOwn(hosts, alias) || (looksLikeAddress(alias) && isIp(alias))) {
    if (!allowed.prefixes) ctx.issues.add(path, `${JSON.stringify(alias)} is an address, not a user, group or tag`, "name users, groups or tags here");
    else if (!Object.hasOwn(hosts, alias)) checkTailnetWideAddress(ctx.issues, path, alias);
  } else if (looksLikeAddress(alias) && parsePrefix(alias)) {
    if (!allowed.prefixes) ctx.issues.add(path, `${JSON.stringify(alias)} is an address, not a user, group or tag`, "name users, groups or tags here");
  } else {
    const user = userOf(alias);
    if (user === undefined) ctx.issues.add(path, `${JSON.stringify(alias)} is not a user, group:, tag:, host or address`, "check the spelling");
    else if (!ctx.users.has(user))
      ctx.issues.add(
        path,
        `names user ${JSON.stringify(user)}, which is neither in users nor the user of a device`,
        `add { name: ${JSON.stringify(user)} } to users, or use one of ${someOf(ctx.users, "(no users yet)")}`,
      );
  }
}

/** Checks the policy: every reference resolves, tags have owners, prefixes and ports are valid. */
export function checkPolicy(check: CheckContext): void {
  const { spec, issues } = check;
  const tailnetName = spec.name ?? DEFAULTS.name;
  const policy = spec.policy;
  if (!policy) return;
  const users = userNamesOf(spec, tailnetName);
  const tags = new Set([...Object.keys(policy.tagOwners ?? {}), ...(spec.devices ?? []).flatMap((d) => d?.tags ?? [])]);
  const ctx: PolicyContext = { users, policy, tags, issues };
  for (const [group, members] of Object.entries(policy.groups ?? {})) {
    const path = joinPath("policy.groups", group);
    if (!/^group:[a-z0-9][a-z0-9-]*$/.test(group))
      issues.add(path, `${JSON.stringify(group)} is not a group name`, `write it as "group:name" with lower-case letters, digits and dashes`);
    (members ?? []).forEach((m, i) => {
      if (m === undefined) return;
      if (userOf(m) === undefined) issues.add(`${path}[${i}]`, `${JSON.stringify(m)} is not a user name (groups hold users only)`, "list user names");
      else checkReference(ctx, `${path}[${i}]`, m, { prefixes: false, star: false });
    });
  }
  for (const [tag, owners] of Object.entries(policy.tagOwners ?? {})) {
    const path = joinPath("policy.tagOwners", tag);
    if (!/^tag:[a-z0-9][a-z0-9-]*$/.test(tag))
      issues.add(path, `${JSON.stringify(tag)} is not a tag`, `write it as "tag:name" with lower-case letters, digits and dashes`);
    if ((owners ?? []).length === 0) issues.add(path, "has no owner, so no one can assign the tag", "list the users or groups that may assign it");
    (owners ?? []).forEach((o, i) => {
      if (o !== undefined) checkReference(ctx, `${path}[${i}]`, o, { prefixes: false, star: false });
    });
  }
  for (const [name, address] of Object.entries(policy.hosts ?? {})) {
    const path = joinPath("policy.hosts", name);
    if (!isIp(address) && !parsePrefix(address))
      issues.add(path, `${JSON.stringify(address)} is neither an address nor a prefix`, `write an address or prefix, e.g. "192.168.100.0/24"`);
    else checkTailnetWideAddress(issues, path, address);
  }
  (policy.acls ?? []).forEach((rule, i) => {
    if (!rule) return;
    const path = `policy.acls[${i}]`;
    if (rule.src?.length === 0) issues.add(`${path}.src`, "is empty, so the rule matches no one", `list sources, e.g. ["group:admins"]`);
    if (rule.dst?.length === 0) issues.add(`${path}.dst`, "is empty, so the rule allows nothing", `list destinations, e.g. ["tag:router:*"]`);
    (rule.src ?? []).forEach((s, j) => {
      if (s !== undefined) checkReference(ctx, `${path}.src[${j}]`, s, { prefixes: true, star: true });
    });
    (rule.dst ?? []).forEach((d, j) => {
      if (d === undefined) return;
      const split = splitDestination(d);
      if (!split || !PORTS.test(split.ports)) {
        issues.add(
          `${path}.dst[${j}]`,
          `${JSON.stringify(d)} does not end in :ports`,
          `write the destination as alias:ports, e.g. "${split?.alias ?? d}:*" or "${split?.alias ?? d}:22,443"`,
        );
        return;
      }
      checkReference(ctx, `${path}.dst[${j}]`, split.alias, { prefixes: true, star: true });
    });
  });
  for (const [route, approvers] of Object.entries(policy.autoApprovers?.routes ?? {})) {
    const path = joinPath("policy.autoApprovers.routes", route);
    const prefix = parsePrefix(route);
    if (!prefix) issues.add(path, `${JSON.stringify(route)} is not a prefix`, `write the route as address/bits, e.g. "192.168.100.0/24"`);
    else if (hasHostBits(prefix)) issues.add(path, `${JSON.stringify(route)} has host bits set`, `use "${networkOf(prefix)}"`);
    (approvers ?? []).forEach((a, i) => {
      if (a !== undefined) checkReference(ctx, `${path}[${i}]`, a, { prefixes: false, star: false });
    });
  }
  (policy.autoApprovers?.exitNode ?? []).forEach((a, i) => {
    if (a !== undefined) checkReference(ctx, `policy.autoApprovers.exitNode[${i}]`, a, { prefixes: false, star: false });
  });
  if (spec.headscale?.policy?.path) {
    issues.add(
      "headscale.policy.path",
      "is set while the spec has a policy, which the kit renders and points headscale at itself",
      "remove headscale.policy.path, or remove policy to manage the file yourself",
    );
  }
  if (spec.headscale?.policy?.mode === "database") {
    issues.add(
      "headscale.policy.mode",
      `is "database" while the spec has a policy file to render`,
      `use mode "file", or remove policy and manage the policy through headscale's API`,
    );
  }
}

/** Checks user names and their key settings. */
export function checkUsers(check: CheckContext): void {
  const { spec, issues } = check;
  const isGoDuration = (d: string) => parseGoDuration(d) !== undefined;
  (spec.users ?? []).forEach((u, i) => {
    if (!u) return;
    if (u.name !== undefined && !USER_NAME.test(u.name))
      issues.add(`users[${i}].name`, `${JSON.stringify(u.name)} is not a valid headscale user name`, "use letters, digits, dots, dashes or underscores");
    const exp = u.preAuthKey?.expiration;
    if (exp !== undefined && !isGoDuration(exp))
      issues.add(`users[${i}].preAuthKey.expiration`, `${JSON.stringify(exp)} is not a Go duration`, `write it like "24h" or "720h" (there is no "d")`);
  });
  const seen = new Set<string>();
  (spec.users ?? []).forEach((u, i) => {
    const n = u?.name;
    if (n === undefined) return;
    if (seen.has(n)) issues.add(`users[${i}].name`, `${JSON.stringify(n)} is declared twice`, "declare every user once");
    seen.add(n);
  });
}
