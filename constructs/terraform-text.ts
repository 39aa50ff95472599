/**
 * Text placed into synthesized Terraform JSON. Terraform reads every JSON string as a template,
 * so a literal `${` or `%{` (common in shell scripts and configs) must be escaped as `$${` and
 * `%%{`. cdktf tokens (`${TfToken[...]}`, values only Terraform knows, such as a VM's address in
 * a DERP map) are left alone: cdktf turns them into real references at synth, and Terraform
 * substitutes them.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, "$$${").replace(/%\{/g, "%%{");
}
