/**
 * The tests' own certificates, made with the openssl command line on purpose: fixtures that do not
 * come from the kit's issuer (secrets/x509.ts) cross-check it, as a user's certificates would.
 */

/** `openssl req` arguments for a new P-256 key (unencrypted) and a self-signed certificate with `subject` and, when given, `sans` (`DNS:...`, `IP:...`). */
export function selfSignedReqArgs(o: {
  readonly subject: string;
  readonly days: number;
  readonly keyOut: string;
  readonly certOut: string;
  readonly sans?: readonly string[];
}): string[] {
  return [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    String(o.days),
    "-subj",
    o.subject,
    ...(o.sans && o.sans.length > 0 ? ["-addext", `subjectAltName=${o.sans.join(",")}`] : []),
    "-keyout",
    o.keyOut,
    "-out",
    o.certOut,
  ];
}
