/**
 * Terraform tokens in the model. A host address may come from another resource (a VM's public
 * IP): cdktf encodes it as a string such as `${TfToken[TOKEN.12]}`, and Terraform substitutes the
 * value at apply time. The model recognises such strings without importing cdktf: validation
 * defers its checks on them, and renderers embed them unchanged.
 *
 * Tokens are legitimate only in a spec that is a TypeScript object built with cdktf. A spec read
 * from text (tailnet.yaml, JSON) is marked by its parser (`markSpecFromText`), and validation then
 * refuses every token in it: cdktf would resolve `${TfToken[TOKEN.29]}` to whatever value it
 * numbered 29 (a sensitive variable, say), and Terraform would evaluate `${var.secret}`.
 */

const CDKTF_TOKEN = /\$\{TfToken\[[^\]]+\]\}/;
const TERRAFORM_INTERPOLATION = /\$\{[^}]+\}/;

/** True when the string is (or contains) a value only Terraform knows at apply time. */
export function isUnresolvedToken(value: unknown): value is string {
  return typeof value === "string" && (CDKTF_TOKEN.test(value) || TERRAFORM_INTERPOLATION.test(value));
}

/**
 * One token: cdktf's `${TfToken[TOKEN.<n>]}`, or a plain Terraform
 * reference such as `${aws_instance.relay.ipv6_address}` (no functions, no nested braces).
 */
const TOKEN = "\\$\\{(?:TfToken\\[TOKEN\\.[0-9]{1,9}\\]|[A-Za-z_][A-Za-z0-9_-]{0,63}(?:\\.[A-Za-z_][A-Za-z0-9_-]{0,63}|\\[[0-9]{1,9}\\]){1,8})\\}";
const WHOLE_TOKEN = new RegExp(`^${TOKEN}$`);
const EMBEDDED_TOKENS = new RegExp(TOKEN, "g");

/** True when the whole string is one Terraform token (see TOKEN). */
export function isWholeTerraformToken(value: string): boolean {
  return WHOLE_TOKEN.test(value);
}

/**
 * The string with every token in it replaced by `stand-in`, so that what surrounds a token
 * (`ssh://root@${TfToken[TOKEN.0]}`) can be checked against a grammar; the string itself when it
 * holds none.
 */
export function replaceTerraformTokens(value: string, standIn: string): string {
  return value.replace(EMBEDDED_TOKENS, standIn);
}

/** The mark a text parser sets on a spec's root; a symbol, so it is no key of the spec (and spreads along). */
const FROM_TEXT = Symbol.for("cdktf-tailnet.spec-from-text");

/**
 * Marks a spec parsed from text (YAML or JSON): validation refuses Terraform tokens in it. Kept
 * by `{ ...spec }` copies; returns the spec.
 */
export function markSpecFromText<T>(spec: T): T {
  if (spec !== null && typeof spec === "object") Object.defineProperty(spec, FROM_TEXT, { value: true, enumerable: true, configurable: true });
  return spec;
}

/** True when the spec came from text (see markSpecFromText). */
export function isSpecFromText(spec: unknown): boolean {
  return spec !== null && typeof spec === "object" && (spec as Record<symbol, unknown>)[FROM_TEXT] === true;
}
