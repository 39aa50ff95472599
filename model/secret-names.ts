/**
 * Secrets never travel in the spec: values under a key that names a secret would be written in
 * plain text into rendered files (headscale's config.yaml, a VM's cloud-init user-data).
 */
import { joinPath, type IssueList } from "./issues.js";
import type { OidcSpec } from "./spec.js";

/**
 * A key that names a secret, whatever its spelling (`client_secret`, `clientSecret`,
 * `X-Api-Key`, `refresh_token`, `password`, `client_assertion`): letters only, lower-cased,
 * then searched for the words secrets go by.
 */
export function namesSecret(key: string): boolean {
  const letters = key.toLowerCase().replace(/[^a-z]/g, "");
  return /secret|passw(or)?d|token|apikey|credential|assertion|privatekey/.test(letters) || letters === "pass" || letters === "pwd";
}

/** OIDC extra parameters must not carry the client secret or any other secret. */
export function checkOidcExtraParams(oidc: OidcSpec, issues: IssueList): void {
  for (const key of Object.keys(oidc.extraParams ?? {})) {
    if (!namesSecret(key)) continue;
    issues.add(
      joinPath("headscale.oidc.extraParams", key),
      `${JSON.stringify(key)} names a secret, and extra parameters are written in plain text into config.yaml (and a VM's user-data)`,
      key.toLowerCase().replace(/[^a-z]/g, "") === "clientsecret"
        ? "remove it, and put the client secret in the file clientSecretPath names (mode 0600 on the host)"
        : "remove it: the spec holds no secrets (the client secret goes in the file clientSecretPath names)",
    );
  }
}
