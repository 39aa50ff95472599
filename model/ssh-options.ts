/**
 * The ssh options a Docker host's `sshOpts` may hand to the ssh client the Docker provider runs
 * on the machine that deploys. An allow-list, not a deny-list: ssh has many ways to run a command
 * (ProxyCommand, LocalCommand, KnownHostsCommand, Match exec), load code (PKCS11Provider,
 * SecurityKeyProvider) or read other configuration (-F, Include), and a spec must not reach any
 * of them. Each item is one argument to ssh; one with whitespace could hide a second option.
 */
import type { IssueList } from "./issues.js";

/** `-o` keys that change only how ssh connects, authenticates and checks the host (matched case-insensitively, as ssh does). */
export const ALLOWED_SSH_OPTIONS: readonly string[] = [
  "AddressFamily",
  "BatchMode",
  "CertificateFile",
  "CheckHostIP",
  "Ciphers",
  "Compression",
  "ConnectionAttempts",
  "ConnectTimeout",
  "ControlMaster",
  "ControlPath",
  "ControlPersist",
  "FingerprintHash",
  "GlobalKnownHostsFile",
  "HashKnownHosts",
  "HostKeyAlgorithms",
  "HostKeyAlias",
  "IdentitiesOnly",
  "IdentityAgent",
  "IdentityFile",
  "IPQoS",
  "KbdInteractiveAuthentication",
  "KexAlgorithms",
  "LogLevel",
  "MACs",
  "NumberOfPasswordPrompts",
  "PasswordAuthentication",
  "Port",
  "PreferredAuthentications",
  "ProxyJump",
  "PubkeyAcceptedAlgorithms",
  "PubkeyAcceptedKeyTypes",
  "PubkeyAuthentication",
  "RekeyLimit",
  "RequiredRSASize",
  "ServerAliveCountMax",
  "ServerAliveInterval",
  "StrictHostKeyChecking",
  "TCPKeepAlive",
  "UpdateHostKeys",
  "User",
  "UserKnownHostsFile",
  "VerifyHostKeyDNS",
];

const OPTION_KEYS = new Map(ALLOWED_SSH_OPTIONS.map((k) => [k.toLowerCase(), k]));

/** Flags without a value. (-n and -N are left out: they would break the Docker connection.) */
const BARE_FLAGS = new Set(["-4", "-6", "-C", "-q", "-v", "-vv", "-vvv", "-T", "-x", "-a"]);

/** Flags with a value, and the value's grammar. */
const VALUE_FLAGS: Record<string, { what: string; grammar: RegExp }> = {
  "-o": { what: "Key=Value", grammar: /^[A-Za-z]+=.+$/ },
  "-i": { what: "key file", grammar: /^(?!-)[A-Za-z0-9_.,:@/~%+=-]+$/ },
  "-p": { what: "port", grammar: /^([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/ },
  "-l": { what: "user", grammar: /^[A-Za-z_][A-Za-z0-9._-]*$/ },
  "-J": { what: "jump host", grammar: /^(?!-)[A-Za-z0-9_.@[\]:-]+(,[A-Za-z0-9_.@[\]:-]+)*$/ },
};

/** Characters an option's value may hold: enough for paths, algorithm lists, `%` tokens and host lists. */
const OPTION_VALUE = /^[A-Za-z0-9_.,:@/~%+=*[\]-]+$/;

const FLAGS_TEXT = `-o Key=Value, -i <key file>, -p <port>, -l <user>, -J <jump host>, ${[...BARE_FLAGS].join(", ")}`;

/** Reports an argument with whitespace or a control character; true when it did. */
function hidesArguments(issues: IssueList, at: string, value: string): boolean {
  if (!/[\s\0-\x1f\x7f]/.test(value)) return false;
  issues.add(
    at,
    `${JSON.stringify(value)} holds whitespace or a control character; ssh takes each item as one argument, so it could hide a second option`,
    `put each flag and each value in an item of its own, without spaces, e.g. ["-o", "StrictHostKeyChecking=yes"]`,
  );
  return true;
}

/** Checks `-o`'s Key=Value; the problem's message and fix, or undefined when it is allowed. */
function optionProblem(text: string): [message: string, fix: string] | undefined {
  const eq = text.indexOf("=");
  const key = text.slice(0, eq);
  if (!OPTION_KEYS.has(key.toLowerCase())) {
    return [
      `sets ssh option ${JSON.stringify(key)}, which is not on the kit's allow-list (options that run commands, load code, read other configuration or open forwards are refused)`,
      `remove it; -o takes one of ${ALLOWED_SSH_OPTIONS.join(", ")}`,
    ];
  }
  // ssh turns a jump host into a command line of its own: no leading "-", no shell characters.
  if (key.toLowerCase() === "proxyjump" && !VALUE_FLAGS["-J"]!.grammar.test(text.slice(eq + 1))) {
    return [`gives ProxyJump a value that is not a list of jump hosts`, `write [user@]host[:port], several separated by commas, not starting with "-"`];
  }
  if (!OPTION_VALUE.test(text.slice(eq + 1))) {
    return [
      `gives ${OPTION_KEYS.get(key.toLowerCase())} a value with characters ssh options never need`,
      "write the value with letters, digits and . , : @ / ~ % + = * [ ] - _ only",
    ];
  }
  return undefined;
}

/** Checks a Docker host's sshOpts, reporting each refused item at its own index under `path`. */
export function checkSshOptions(options: readonly (string | undefined)[], path: string, issues: IssueList): void {
  for (let i = 0; i < options.length; i++) {
    const item = options[i];
    if (item === undefined) continue;
    const at = `${path}[${i}]`;
    const q = JSON.stringify(item);
    if (hidesArguments(issues, at, item)) continue;
    if (BARE_FLAGS.has(item)) continue;
    const flag = item.slice(0, 2);
    const spec = VALUE_FLAGS[flag];
    if (!spec) {
      issues.add(at, `${q} is not an ssh flag the kit passes on`, `use only ${FLAGS_TEXT}`);
      if (options[i + 1] !== undefined && !options[i + 1]!.startsWith("-")) i++; // its value, refused with it
      continue;
    }
    let value = item.slice(2);
    let valueAt = at;
    if (value === "") {
      if (i + 1 >= options.length || options[i + 1] === undefined) {
        issues.add(
          at,
          `${q} is the last item and lacks its ${spec.what}`,
          `follow it with its ${spec.what} as the next item, e.g. ["-o", "StrictHostKeyChecking=yes"]`,
        );
        continue;
      }
      value = options[++i]!;
      valueAt = `${path}[${i}]`;
      if (hidesArguments(issues, valueAt, value)) continue;
    }
    if (!spec.grammar.test(value)) {
      issues.add(
        valueAt,
        `${JSON.stringify(value)} is not a ${spec.what} for ${flag}`,
        flag === "-o" ? `write it as Key=Value, e.g. "StrictHostKeyChecking=yes"` : `give ${flag} a plain ${spec.what}`,
      );
      continue;
    }
    const problem = flag === "-o" ? optionProblem(value) : undefined;
    if (problem) issues.add(valueAt, `${JSON.stringify(value)} ${problem[0]}`, problem[1]);
  }
}
