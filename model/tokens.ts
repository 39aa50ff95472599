/**
 * Terraform tokens in the model. A host address may come from another resource (a VM's public
 * IP): cdktf encodes it as a string such as `${TfToken[TOKEN.12]}`, and Terraform substitutes the
 * value at apply time. The model recognises such strings without importing cdktf: validation
 * defers its checks on them, and renderers embed them unchanged.
 */

const CDKTF_TOKEN = /\$\{TfToken\[[^\]]+\]\}/;
const TERRAFORM_INTERPOLATION = /\$\{[^}]+\}/;

/** True when the string is (or contains) a value only Terraform knows at apply time. */
export function isUnresolvedToken(value: unknown): value is string {
  return typeof value === "string" && (CDKTF_TOKEN.test(value) || TERRAFORM_INTERPOLATION.test(value));
}
