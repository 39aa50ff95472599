/**
 * The grammars of the spec's strings: every string field of model/spec.ts names one (or a few
 * alternatives) with a `@grammar` TSDoc tag, and map keys with `@keyGrammar`. Each grammar is
 * stated here once: its name, pattern, maximum length, description and fix. The schema generator
 * (scripts/schema-source.mjs) copies pattern and maxLength into schema/tailnet.schema.json and the
 * description into docs/spec-reference.md; the structural check (model/structure.ts) enforces them.
 *
 * Validation is where hostile text stops. What passes here is safe to be a unit name, container
 * name or file name (identifiers), holds no line terminator of any YAML version, no control
 * character and no Terraform interpolation (`${`, `%{`); renderers still escape for their format.
 * Patterns are kept lexical where a semantic check in validate.ts gives the finer message (an
 * address's family, a duration's units), and exact where the shape is the safety (identifiers,
 * DNS names, URLs, paths).
 *
 * Patterns are ECMAScript regular expressions that compile with and without the `u` flag, as JSON
 * Schema tools use them.
 */
import { echo } from "./echo.js";
import { isWholeTerraformToken, replaceTerraformTokens } from "./tokens.js";

/** What a token embedded in a value (a host inside a URL) is checked as: a DNS label. */
const TOKEN_STAND_IN = "terraform-token";

/** One grammar. */
export interface Grammar {
  /** The name `@grammar` tags use, and the docs' anchor. */
  readonly name: string;
  /** What it is called in messages, with its article: "an identifier". */
  readonly title: string;
  /** The whole value matches this (anchored when compiled). */
  readonly pattern: string;
  readonly maxLength: number;
  /** What such values look like, in one sentence. */
  readonly description: string;
  /** How to write a value that fits. */
  readonly fix: string;
}

// --- building blocks -----------------------------------------------------------------------

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const DNS_NAME = `${LABEL}(?:\\.${LABEL})*`;
/** IPv6 text, lexically: hex digits, colons (at least one) and dots; validate.ts checks the address. */
const IPV4_TEXT = "[0-9]{1,3}(?:\\.[0-9]{1,3}){0,3}";
const IPV6_ADDRESS = "[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3})?";
/** With an optional `%zone`, so that validate.ts can say why a zone does not belong there. */
const IPV6_TEXT = `${IPV6_ADDRESS}(?:%[0-9A-Za-z._-]{1,32})?`;
const IP_TEXT = `(?:${IPV4_TEXT}|${IPV6_TEXT})`;
/** A policy alias: `*`, `group:`/`tag:`/`autogroup:` names, a user (with or without `@`) or policy host, an address or prefix. */
const POLICY_ALIAS = `(?:\\*|(?:group|tag|autogroup):[a-z0-9][a-z0-9-]{0,62}|[a-z][a-z0-9-]{0,62}@?|${IP_TEXT}(?:/[0-9]{1,3})?)`;
const URL_HOST = `(?:${DNS_NAME}|\\[${IPV6_ADDRESS}\\])`;
const PORT = "(?::[0-9]{1,5})";
/** A URL path and query: unreserved characters, a few sub-delimiters, `%XX` escapes. No `$ ' ( ) ; ! * {`. */
const URL_CHAR = "(?:[A-Za-z0-9._~+,=:@/-]|%[0-9A-Fa-f]{2})";
const URL_REST = `(?:/${URL_CHAR}*)?(?:\\?(?:${URL_CHAR}|&)*)?`;
const WEB_URL = (schemes: string) => `(?:${schemes})://${URL_HOST}${PORT}?${URL_REST}`;
/** A path segment: no `.` or `..`, no whitespace, quotes, `$`, `%`, `:`, `,`, `=` or shell metacharacters. */
const SEGMENT = "(?!\\.\\.?(?:/|$))[A-Za-z0-9._@+~-]+";
const ABSOLUTE_PATH = `(?:/${SEGMENT})+`;
/**
 * One character of free text: anything printable. Not a control character (C0, DEL, C1, which
 * includes U+0085), not U+2028/U+2029 (line breaks to YAML 1.1 and JavaScript), not a
 * bidirectional override or isolate, not a byte-order mark; `$` and `%` only when no `{` follows.
 */
const TEXT_CHAR = "(?:[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ufeff$%]|\\$(?!\\{)|%(?!\\{))";
const CREDENTIALS_PREFIX = "${CREDENTIALS_DIRECTORY}/";
const DNS_NAME_DESCRIPTION = "dot-separated labels of letters, digits and inner dashes (each at most 63), no trailing dot";

function grammar(name: string, title: string, pattern: string, maxLength: number, description: string, fix: string): Grammar {
  return { name, title, pattern, maxLength, description, fix };
}

/** Every grammar, by name. */
export const GRAMMARS = {
  identifier: grammar(
    "identifier",
    "an identifier",
    "[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?",
    63,
    "a lower-case letter, then lower-case letters, digits and dashes, not ending in a dash; safe as a file, unit and container name",
    `use a lower-case letter, then lower-case letters, digits and dashes (at most 63), e.g. "hk-1"`,
  ),
  dnsName: grammar(
    "dnsName",
    "a DNS name",
    DNS_NAME,
    253,
    DNS_NAME_DESCRIPTION,
    `write a DNS name without scheme, port or trailing dot, e.g. "derp1.example.com"`,
  ),
  host: grammar(
    "host",
    "a host name or IP address",
    `(?:${DNS_NAME}|${IPV6_TEXT})`,
    253,
    `a DNS name (${DNS_NAME_DESCRIPTION}) or an IP address, without brackets, port or scheme`,
    `write only the host name or address, e.g. "derp1.example.com" or "192.0.2.10" (no scheme, port or path)`,
  ),
  ipAddress: grammar(
    "ipAddress",
    "an IP address",
    IP_TEXT,
    45,
    "an IPv4 or IPv6 address: digits, hex digits, dots and colons",
    `write an address such as "192.0.2.10" or "2001:db8::1"`,
  ),
  ipPrefix: grammar(
    "ipPrefix",
    "an IP address or prefix",
    `${IP_TEXT}(?:/[0-9]{1,3})?`,
    49,
    "an IPv4 or IPv6 address, or a CIDR prefix address/bits",
    `write a prefix such as "192.168.100.0/24" or "2001:db8::/32"`,
  ),
  listenAddress: grammar(
    "listenAddress",
    "a listen address",
    `(?:\\[${IPV6_TEXT}\\]|${DNS_NAME})?:[0-9]{1,5}`,
    261,
    "host:port, :port or [IPv6]:port",
    `write host:port, e.g. "0.0.0.0:8080", "127.0.0.1:9090" or "[::]:443"`,
  ),
  hostPort: grammar(
    "hostPort",
    "an address with an optional port",
    `(?:${DNS_NAME}|${IPV6_TEXT}|\\[${IPV6_TEXT}\\])(?::[0-9]{1,5})?`,
    261,
    "an address or DNS name, optionally with :port (an IPv6 address with a port in brackets)",
    `write an address such as "1.1.1.1", "1.1.1.1:53" or "[2606:4700:4700::1111]:53"`,
  ),
  httpsUrl: grammar(
    "httpsUrl",
    "an https URL",
    WEB_URL("https"),
    2048,
    "https://host[:port][/path][?query]; no user name or password, no fragment, path characters A-Z a-z 0-9 . _ ~ + , = : @ / - and %XX",
    `write an https URL such as "https://login.example.com"`,
  ),
  webUrl: grammar(
    "webUrl",
    "an http or https URL",
    WEB_URL("https|http"),
    2048,
    "http(s)://host[:port][/path][?query]; no user name or password, no fragment, path characters A-Z a-z 0-9 . _ ~ + , = : @ / - and %XX",
    `write a URL such as "https://hs.example.com"`,
  ),
  downloadUrl: grammar(
    "downloadUrl",
    "an https, http or file URL",
    `(?:${WEB_URL("https|http")}|file://${ABSOLUTE_PATH})`,
    2048,
    "http(s)://host[:port]/path (no user name or password) or file:///absolute/path",
    `write a URL such as "https://example.com/derper" or "file:///srv/derper"`,
  ),
  dockerDaemon: grammar(
    "dockerDaemon",
    "a Docker engine address",
    `(?:ssh://(?:[a-z_][a-z0-9_.-]{0,31}@)?${URL_HOST}${PORT}?|tcp://${URL_HOST}${PORT}|unix://${ABSOLUTE_PATH})`,
    4096,
    "ssh://[user@]host[:port], tcp://host:port or unix:///absolute/path",
    `write "ssh://user@host", "tcp://host:2376" (TLS) or "unix:///var/run/docker.sock"`,
  ),
  absolutePath: grammar(
    "absolutePath",
    "an absolute path",
    ABSOLUTE_PATH,
    4096,
    "/ and segments of letters, digits and . _ @ + ~ -; no . or .. segment, no whitespace, quotes, $ or %",
    `give the absolute path of the file on the host, e.g. "/etc/headscale/secret"`,
  ),
  resticRepository: grammar(
    "resticRepository",
    "a restic repository",
    "(?:/|sftp:|s3:|rest:)(?:[A-Za-z0-9._~+,=:@/\\[\\]-]|%[0-9A-Fa-f]{2})*",
    2048,
    "an absolute path, sftp:user@host:/path, sftp://user@host:port//path, s3:https://host/bucket/path or rest:https://host:port/path, in letters, digits, . _ ~ + , = : @ / [ ] - and %XX (model/backup.ts checks the form)",
    `write "/srv/backup/headscale", "sftp:backup@backup.example.com:/srv/restic/headscale", "s3:https://s3.example.com/bucket/headscale" or "rest:https://backup.example.com:8000/headscale"`,
  ),
  credentialPath: grammar(
    "credentialPath",
    "a path in systemd's credentials directory",
    `\\$\\{CREDENTIALS_DIRECTORY\\}(?:/${SEGMENT})+`,
    4096,
    "${CREDENTIALS_DIRECTORY}/name, which headscale expands",
    `write "\${CREDENTIALS_DIRECTORY}/<credential name>"`,
  ),
  localPath: grammar(
    "localPath",
    "a local file path",
    `${TEXT_CHAR}+`,
    4096,
    "a path on the machine that deploys, relative or absolute: printable characters, no line break or control character, no ${ or %{",
    `give the file's path on this machine, e.g. "dist/derper"`,
  ),
  freeText: grammar(
    "freeText",
    "one line of text",
    `${TEXT_CHAR}*`,
    200,
    "printable characters: no line break of any kind (LF, CR, U+0085, U+2028, U+2029), no control or bidirectional control character, no ${ or %{",
    `write one line of plain text, e.g. "Hong Kong"`,
  ),
  cloudflareId: grammar(
    "cloudflareId",
    "a Cloudflare id",
    "[0-9a-f]{32}",
    32,
    "32 lower-case hex digits",
    "copy the zone id from the zone's overview page in Cloudflare's dashboard (32 hex digits)",
  ),
  sha256: grammar("sha256", "a SHA-256", "[0-9a-fA-F]{64}", 64, "64 hex digits", "write the SHA-256 as 64 hex digits"),
  version: grammar(
    "version",
    "a release number",
    "v?[0-9]{1,6}\\.[0-9]{1,6}\\.[0-9]{1,6}(?:-[0-9A-Za-z.]{1,32})?",
    60,
    "major.minor.patch with an optional leading v and -prerelease",
    `write a release number such as "1.102.3" (pinned, never "latest")`,
  ),
  duration: grammar(
    "duration",
    "a duration",
    "[0-9](?:[0-9a-z\\u00b5]|\\.(?=[0-9]))*",
    32,
    "a digit, then digits, unit letters and decimal points, e.g. 30m, 1h30m, 1.5h or 180d",
    `write a duration such as "30m" or "24h"`,
  ),
  email: grammar(
    "email",
    "an e-mail address",
    `[A-Za-z0-9._+-]{1,64}@${DNS_NAME}`,
    254,
    "local@domain; the local part of letters, digits and . _ + -",
    `write an address such as "admin@example.com"`,
  ),
  sshPublicKey: grammar(
    "sshPublicKey",
    "an SSH public key",
    `(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\\.com) [A-Za-z0-9+/]+={0,3}(?: ${TEXT_CHAR}*)?`,
    16384,
    "one line of a .pub file: type, base64 key, optional comment",
    `paste one line of a .pub file, e.g. "ssh-ed25519 AAAA... admin@laptop"`,
  ),
  imageReference: grammar(
    "imageReference",
    "an image reference",
    "[a-z0-9][A-Za-z0-9_./:@-]{0,254}",
    255,
    "registry/name:tag or name@sha256:digest",
    `write it as registry/name:tag, e.g. "ghcr.io/me/derper:1.102.3"`,
  ),
  databaseName: grammar(
    "databaseName",
    "a database name",
    "[A-Za-z_][A-Za-z0-9_-]{0,62}",
    63,
    "a letter or _, then letters, digits, _ and -",
    `use letters, digits, _ and -, e.g. "headscale"`,
  ),
  oauthToken: grammar(
    "oauthToken",
    "an OAuth client id or scope",
    "[A-Za-z0-9._~:@/+=-]{1,255}",
    255,
    "letters, digits and . _ ~ : @ / + = -",
    `write it as the identity provider shows it, e.g. "headscale" or "openid"`,
  ),
  parameterName: grammar(
    "parameterName",
    "a parameter name",
    "[A-Za-z][A-Za-z0-9_.-]{0,63}",
    64,
    "a letter, then letters, digits and _ . -",
    `write a parameter name such as "domain_hint"`,
  ),
  parameterValue: grammar(
    "parameterValue",
    "a parameter value",
    "[A-Za-z0-9._~:@/+=,-]{0,512}",
    512,
    "letters, digits and . _ ~ : @ / + = , -",
    `write a value such as "example.com"`,
  ),
  interfaceName: grammar(
    "interfaceName",
    "a network interface name",
    "[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}",
    15,
    "at most 15 letters, digits and _ . : @ -",
    `write the interface's name, e.g. "eth0" or "ppp0"`,
  ),
  tsigKeyName: grammar(
    "tsigKeyName",
    "a TSIG key name",
    "[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*\\.?",
    253,
    "a DNS-style name: labels of letters, digits, _ and inner dashes",
    `write the key's name as the nameserver knows it, e.g. "home-ddns"`,
  ),
  certName: grammar(
    "certName",
    "a certificate name or pin",
    `(?:sha256-raw:[0-9A-Za-z]{1,64}|${DNS_NAME})`,
    253,
    "sha256-raw:<64 hex digits>, or a DNS name",
    `write the pin exactly as derper prints it, e.g. "sha256-raw:${"0".repeat(64)}", or a DNS name`,
  ),
  groupName: grammar(
    "groupName",
    "a group name",
    "group:[a-z0-9][a-z0-9-]{0,62}",
    69,
    "group: then lower-case letters, digits and dashes",
    `write it as "group:name" with lower-case letters, digits and dashes`,
  ),
  tagName: grammar(
    "tagName",
    "a tag",
    "tag:[a-z0-9][a-z0-9-]{0,62}",
    67,
    "tag: then lower-case letters, digits and dashes",
    `write tags as "tag:name" with lower-case letters, digits and dashes`,
  ),
  policyAlias: grammar(
    "policyAlias",
    "a policy alias",
    POLICY_ALIAS,
    300,
    "*, a user (name or name@), group:..., tag:..., autogroup:..., a policy host, an address or a prefix",
    `name a user, "group:...", "tag:...", a host of policy.hosts, or an address`,
  ),
  aclDestination: grammar(
    "aclDestination",
    "an ACL destination",
    `${POLICY_ALIAS}(?::[A-Za-z0-9*,-]{1,64})?`,
    300,
    "alias:ports, e.g. tag:router:22,443",
    `write the destination as alias:ports, e.g. "tag:router:*" or "home-lan:22,443"`,
  ),
  ipProtocol: grammar(
    "ipProtocol",
    "an IP protocol",
    "[a-z0-9-]{1,16}",
    16,
    "a protocol name or number, e.g. tcp, udp, icmp",
    `write a protocol such as "tcp", "udp" or "icmp"`,
  ),
  sshOption: grammar(
    "sshOption",
    "an ssh argument",
    `${TEXT_CHAR}+`,
    1024,
    "one argument to ssh: printable characters, no line break or control character, no ${ or %{ (which flags and options are allowed is checked after: see sshOpts)",
    `write each argument separately, e.g. ["-o", "StrictHostKeyChecking=yes"]`,
  ),
} as const satisfies Record<string, Grammar>;

/** A grammar's name. */
export type GrammarName = keyof typeof GRAMMARS;

/**
 * A field's grammar as its `@grammar` tag states it: alternatives separated by `|`, each a
 * grammar name, a quoted literal (`""`, `"none"`), or `token` (a Terraform token, only in a spec
 * that is a TypeScript object: see model/tokens.ts).
 */
export interface FieldGrammar {
  /** The tag's text. */
  readonly text: string;
  readonly grammars: readonly Grammar[];
  readonly literals: readonly string[];
  readonly tokens: boolean;
  /** The JSON Schema pattern: grammars and literals (tokens are not text a YAML spec may hold). */
  readonly pattern: string;
  readonly maxLength: number;
  /** `an IP address, or "none"` (an empty literal is left out: a value that breaks the grammar is not empty). */
  readonly title: string;
  readonly fix: string;
}

const fieldGrammars = new Map<string, FieldGrammar & { readonly regex: RegExp }>();

/** Parses a `@grammar` tag's text; throws on an unknown name, so a typo fails `npm run schema`. */
export function fieldGrammar(text: string): FieldGrammar & { readonly regex: RegExp } {
  const cached = fieldGrammars.get(text);
  if (cached) return cached;
  const grammars: Grammar[] = [];
  const literals: string[] = [];
  let tokens = false;
  for (const part of text.split("|").map((p) => p.trim())) {
    if (part === "token") tokens = true;
    else if (part.startsWith('"')) literals.push(JSON.parse(part) as string);
    else if (Object.hasOwn(GRAMMARS, part)) grammars.push(GRAMMARS[part as GrammarName]);
    else throw new Error(`unknown grammar ${JSON.stringify(part)} in @grammar ${text} (known: ${Object.keys(GRAMMARS).join(", ")})`);
  }
  if (grammars.length === 0) throw new Error(`@grammar ${text} names no grammar`);
  const escaped = literals.map((l) => l.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"));
  const pattern = `^(?:${[...grammars.map((g) => g.pattern), ...escaped].join("|")})$`;
  // A value that breaks the grammar is not empty, so "or empty" would only distract; the fix says it.
  const title = [grammars.map((g) => g.title).join(" or "), ...literals.filter((l) => l !== "").map((l) => JSON.stringify(l))].join(", or ");
  const fix = [grammars.map((g) => g.fix).join("; or "), ...literals.map((l) => (l === "" ? "leave it empty" : `write ${JSON.stringify(l)}`))].join("; or ");
  const maxLength = Math.max(...grammars.map((g) => g.maxLength), ...literals.map((l) => l.length));
  const field = { text, grammars, literals, tokens, pattern, maxLength, title, fix, regex: new RegExp(pattern, "u") };
  fieldGrammars.set(text, field);
  return field;
}

/** A problem with one value. */
export interface GrammarProblem {
  readonly message: string;
  readonly fix: string;
}

/** Characters no grammar admits, with what to call them. */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;
const LINE_BREAKS = new Set(["\n", "\r", "\u0085", "\u2028", "\u2029", "\u000b", "\u000c"]);

function describeCharacter(c: string): string {
  const code = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  if (LINE_BREAKS.has(c)) return `a line break (${code})`;
  if (c === "\u0000") return `a NUL character (${code})`;
  if (/[\u202a-\u202e\u2066-\u2069]/u.test(c)) return `a bidirectional control character (${code})`;
  if (c === "\ufeff") return `a byte-order mark (${code})`;
  return `a control character (${code})`;
}

/**
 * Checks one string against its field's grammar. `key` is the field's name (a value under a key
 * that sounds secret is never echoed); `tokensAllowed` is false for a spec read from text.
 */
export function checkGrammar(
  value: string,
  field: FieldGrammar & { readonly regex: RegExp },
  key: string | undefined,
  tokensAllowed: boolean,
): GrammarProblem | undefined {
  if (field.literals.includes(value)) return undefined;
  // A token stands for a whole value, or for a host inside one (`ssh://root@${TfToken[TOKEN.0]}`).
  const untokened = field.tokens && value.includes("${") ? replaceTerraformTokens(value, TOKEN_STAND_IN) : value;
  if (untokened !== value) {
    if (!tokensAllowed) {
      return {
        message: `${echo(value, key)} holds a Terraform token, which only a spec written in TypeScript with cdktf can hold`,
        fix: `write the value itself; in a spec file a token would make cdktf or Terraform substitute a value the file does not show`,
      };
    }
    if (isWholeTerraformToken(value)) return undefined;
  }
  // The length first: no pattern ever runs on more than maxLength characters.
  if (value.length <= field.maxLength && field.regex.test(untokened)) return undefined;
  return explain(value, field, key);
}

/** Why a value does not fit its grammar, most specific reason first. */
function explain(value: string, field: FieldGrammar, key: string | undefined): GrammarProblem {
  if (/PRIVATE KEY/.test(value)) {
    return {
      message: "is a private key; the spec never holds secrets",
      fix: "give the public key or the path of a file instead, and keep the private key where it was",
    };
  }
  const shown = echo(value, key);
  const bad = FORBIDDEN.exec(value);
  if (bad) return { message: `${shown} contains ${describeCharacter(bad[0])}, which ${field.title} never holds`, fix: field.fix };
  const allowedPrefix = field.grammars.includes(GRAMMARS.credentialPath) && value.startsWith(CREDENTIALS_PREFIX) ? CREDENTIALS_PREFIX.length : 0;
  const interpolation = /[$%]\{/.exec(value.slice(allowedPrefix));
  if (interpolation) {
    return { message: `${shown} contains "${interpolation[0]}", which Terraform would evaluate; ${field.title} never holds it`, fix: field.fix };
  }
  if (value.length > field.maxLength) {
    return { message: `${shown} is ${value.length} characters long; ${field.title} has at most ${field.maxLength}`, fix: field.fix };
  }
  return { message: `${shown} is not ${field.title}`, fix: field.fix };
}
