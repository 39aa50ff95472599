/**
 * Text placed into synthesized Terraform JSON. Terraform reads every JSON string (and every
 * object key) as a template, so a literal `${` or `%{` must be written `$${` and `%%{`. cdktf, for
 * its part, turns token text (`${TfToken[TOKEN.12]}`, and the decimal text of an encoded number
 * token) into references wherever it finds it in a string, even inside `$${`. So:
 *
 * - {@link terraformString}: a string that came from the spec (a name, a label, a comment, a
 *   path): every `${` and `%{` escaped; token text refused, whatever cdktf would make of it.
 * - {@link terraformValue}: a value that may legitimately hold a token (an address passed from
 *   TypeScript, e.g. a VM's IP, or a daemon URL built from one): its tokens stay, the rest is escaped.
 * - {@link terraformLiteral}: a rendered file (an upload's content, a remote command) that may
 *   embed the model's tokens: `${`/`%{` escaped except before `TfToken[`. Safe because
 *   {@link checkModelTokens} proved that the model holds tokens only where addresses go.
 * - {@link checkModelTokens}: run by every construct that takes a resolved model, before anything
 *   of it reaches cdktf.
 * - {@link contentSha256}: the hash of text that may embed those tokens (a label or trigger that
 *   changes exactly when the content does).
 */
import { createHash } from "node:crypto";
import { Fn, Token } from "cdktf";
import { UnwritableValueError } from "../render/escape/refuse.js";

/** cdktf's string, list and map token markers. */
const TOKEN_MARKER = /[$#&]\{TfToken\[/;
/** Text cdktf parses as a number and resolves when it is an encoded number token (cdktf's own pattern). */
const NUMBER_TEXT = /[-|\d|.+]+(e[-|\d|.|e|E|+]+)/g;
/** What NUMBER_TEXT needs somewhere: a quick test first, since most strings have no exponent at all. */
const MAYBE_NUMBER_TEXT = /[-|\d.+]e[-|\d.eE+]/;
/** A whole string token, as cdktf encodes one (`Token.asString`, a variable's `stringValue`). */
const WHOLE_TOKEN = /^\$\{TfToken\[TOKEN\.\d+\]\}$/;
const STRING_TOKEN = /\$\{TfToken\[TOKEN\.\d+\]\}/g;

/** Whether cdktf would resolve anything in `text`: token markers, or the text of an encoded number token. */
export function holdsTokenText(text: string): boolean {
  if (TOKEN_MARKER.test(text)) return true;
  if (!MAYBE_NUMBER_TEXT.test(text)) return false;
  for (const m of text.matchAll(NUMBER_TEXT)) if (Token.isUnresolved(parseFloat(m[0]))) return true;
  return false;
}

/** A spec-derived string for any attribute of cdk.tf.json: `${` and `%{` escaped; cdktf token text refused. */
export function terraformString(text: string): string {
  if (holdsTokenText(text)) {
    throw new UnwritableValueError(
      "Terraform JSON",
      text,
      "it holds the text of a cdktf token, which cdktf would replace with another resource's or variable's value",
    );
  }
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, "%%{");
}

/**
 * A value that may hold tokens passed from TypeScript (an address, a Docker daemon URL built from
 * one): the tokens stay, every other `${` and `%{` is escaped. For model values, only after
 * {@link checkModelTokens}, which allows tokens only in such fields.
 */
export function terraformValue(text: string): string {
  return terraformLiteral(text);
}

/**
 * A rendered file's text for Terraform JSON: `${` and `%{` escaped, except the model's own tokens
 * (addresses only Terraform knows, which it substitutes at apply time).
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, () => "$${").replace(/%\{/g, "%%{");
}

/** Keys of the model whose value may be one whole token from TypeScript: addresses. */
const TOKEN_KEYS = new Set(["ipv4", "ipv6", "publicIpv4", "publicIpv6", "value"]);
/** Keys whose value may embed string tokens: a Docker daemon's URL (`ssh://root@${vm.ip}`). */
const EMBEDDING_KEYS = new Set(["daemon"]);
const checked = new WeakSet<object>();

/**
 * Throws unless every token in `model` is a whole address value (a key in TOKEN_KEYS holding
 * exactly one string token): token text anywhere else (a region name holding `${TfToken[...]}`,
 * a number token as a port) would make cdktf substitute another resource's or a sensitive
 * variable's value into what the kit writes. A model is walked once.
 */
export function checkModelTokens(model: object, name = "the tailnet"): void {
  if (checked.has(model)) return;
  // The path is kept as a stack and spelt out only for an error: most of a model is plain data.
  const keys: (string | number)[] = [];
  const at = () => keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
  const refuse = (value: string, reason: string): never => {
    throw new UnwritableValueError(`${name} at ${at()}`, value, reason);
  };
  const seen = new Set<object>(); // a model shares some objects between its parts: each is walked once
  const walk = (value: unknown, key: string): void => {
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) return;
      seen.add(value);
    }
    if (typeof value === "string") {
      if (!holdsTokenText(value)) return;
      const allowed = (TOKEN_KEYS.has(key) && WHOLE_TOKEN.test(value)) || (EMBEDDING_KEYS.has(key) && !holdsTokenText(value.replace(STRING_TOKEN, "")));
      if (!allowed) {
        refuse(
          value,
          `it holds the text of a cdktf token, which cdktf would replace with another value; only addresses (${[...TOKEN_KEYS].join(", ")}) may be tokens, each a whole value passed from TypeScript (and a Docker daemon URL may hold them)`,
        );
      }
    } else if (typeof value === "number") {
      if (Token.isUnresolved(value)) refuse(String(value), "it is a cdktf number token; the model's numbers are literals");
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        keys.push(i);
        walk(value[i], key);
        keys.pop();
      }
    } else if (value instanceof Map) {
      for (const [k, v] of value) {
        keys.push(String(k));
        walk(v, String(k));
        keys.pop();
      }
    } else if (value !== null && typeof value === "object") {
      for (const k in value) {
        keys.push(k);
        if (holdsTokenText(k)) refuse(k, "a key holds the text of a cdktf token");
        walk((value as Record<string, unknown>)[k], k);
        keys.pop();
      }
    }
  };
  walk(model, "");
  checked.add(model);
}

/**
 * The SHA-256 (hex) of `parts`, for a label or trigger that must change exactly when the content
 * does. Text with the model's tokens (a VM's address from TypeScript) cannot be hashed at synth
 * time: hashing the token text would follow cdktf's token numbering (any unrelated construct
 * shifts it, replacing the container) and miss a real change of the address. So the token-free
 * text is hashed here and the tokens' values are hashed by Terraform with it: the result is then
 * a `sha256(join(...))` expression. Without tokens it is the plain digest of the parts, each
 * followed by `terminator`.
 */
export function contentSha256(parts: readonly string[], terminator = "\0"): string {
  const tokens: string[] = [];
  const hash = createHash("sha256");
  for (const part of parts) {
    const text = part.replace(STRING_TOKEN, (token) => {
      tokens.push(token);
      return "\0token\0";
    });
    hash.update(text).update(terminator);
  }
  const digest = hash.digest("hex");
  return tokens.length === 0 ? digest : Fn.sha256(Fn.join("\n", [digest, ...tokens]));
}
