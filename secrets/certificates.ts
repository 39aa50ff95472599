/**
 * Certificates that need files: the step between the pure resolved model and the renderers.
 *
 * - Self-signed nodes: the certificate and key are issued once into the secrets directory (key
 *   0600), reused on every run while more than 30 days of validity are left, and the node's pin
 *   (`CertName: "sha256-raw:<hex>"`) is put into the model, so both DERP maps carry it.
 * - Manual nodes with files: the certificate must cover the node's host name or IP, the key must
 *   match it, and it must not be expired; otherwise the run stops with a clear message.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { PreparedTailnet, ResolvedDerpNode, ResolvedTailnet, ValidationIssue } from "../model/index.js";
import { TailnetSpecError } from "../model/index.js";
import type { SecretStore } from "./store.js";
import { checkLocalFiles } from "./local-files.js";
import { certificatePin } from "./x509.js";
import { allNodes } from "../model/walk.js";

/** Reissue a kit-issued certificate when fewer than this many days are left. */
export const REISSUE_BEFORE_DAYS = 30;

function covers(cert: X509Certificate, node: ResolvedDerpNode): boolean {
  return node.hostnameIsIp ? cert.checkIP(node.hostname) !== undefined : cert.checkHost(node.hostname) !== undefined;
}

/** Which of a node's certificate files a problem is about (the spec field that names it). */
export interface CertificateFileProblem {
  readonly field: "certFile" | "keyFile";
  readonly problem: string;
}

/** Problems with a user's certificate files for `node`, in words a person can act on, each with the field it concerns. */
export function checkCertificateFiles(node: ResolvedDerpNode, certFile: string, keyFile: string, now: Date = new Date()): CertificateFileProblem[] {
  const problems: CertificateFileProblem[] = [];
  for (const [field, file] of [
    ["certFile", certFile],
    ["keyFile", keyFile],
  ] as const) {
    if (!existsSync(file)) problems.push({ field, problem: `${file} does not exist` });
    else if (!statSync(file).isFile()) problems.push({ field, problem: `${file} is not a file` });
  }
  if (problems.length > 0) return problems;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certFile));
  } catch (e) {
    return [{ field: "certFile", problem: `${certFile} is not a PEM or DER certificate (${(e as Error).message})` }];
  }
  if (!covers(cert, node)) {
    problems.push({
      field: "certFile",
      problem: `${certFile} is for ${cert.subjectAltName ?? cert.subject}, not for ${node.hostname} (derper checks the certificate against its -hostname, and clients against the host name they dial)`,
    });
  }
  if (new Date(cert.validTo) <= now) problems.push({ field: "certFile", problem: `${certFile} expired on ${new Date(cert.validTo).toISOString()}` });
  else if (new Date(cert.validFrom) > now)
    problems.push({ field: "certFile", problem: `${certFile} is not valid before ${new Date(cert.validFrom).toISOString()}` });
  try {
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile))))
      problems.push({ field: "keyFile", problem: `${keyFile} is not the private key of ${certFile}` });
  } catch (e) {
    problems.push({ field: "keyFile", problem: `${keyFile} is not a private key (${(e as Error).message})` });
  }
  return problems;
}

function withNode(tailnet: ResolvedTailnet, name: string, change: (n: ResolvedDerpNode) => ResolvedDerpNode): ResolvedTailnet {
  return {
    ...tailnet,
    derp: {
      ...tailnet.derp,
      regions: tailnet.derp.regions.map((r) => ({ ...r, nodes: r.nodes.map((n) => (n.name === name ? change(n) : n)) })),
    },
  };
}

/** Every problem with the certificate files users supplied (nothing is written). */
export function checkTailnetCertificates(tailnet: ResolvedTailnet, now: Date = new Date()): ValidationIssue[] {
  return allNodes(tailnet).flatMap((node) => {
    const files = node.derper.certificateSource === "manual" ? node.derper.certificateFiles : undefined;
    if (!files) return [];
    return checkCertificateFiles(node, files.certFile, files.keyFile, now).map(({ field, problem }) => ({
      path: `${node.specPath}.certificate.${field}`,
      message: problem,
      fix: `give a certificate for ${node.hostname} that is valid now, with its own private key`,
    }));
  });
}

/**
 * Checks the files the spec names on this machine (user-supplied certificates, VM binaries from
 * `localFile`), then issues or reuses self-signed certificates. Returns the tailnet with every
 * self-signed node's pin and certificate files filled in; throws a TailnetSpecError listing every
 * problem (before anything is issued).
 */
export function materializeCertificates(tailnet: ResolvedTailnet, store: SecretStore, now: Date = new Date()): PreparedTailnet {
  const issues = [...checkTailnetCertificates(tailnet, now), ...checkLocalFiles(tailnet)];
  if (issues.length > 0) throw new TailnetSpecError(issues);
  // A node's certificate is filed under its name: two nodes of one name would share one, and the
  // pin in the maps would not be the certificate one of them serves.
  const names = allNodes(tailnet).map((n) => n.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new Error(`cdktf-tailnet: two DERP nodes are named ${JSON.stringify(twice)}; node names must be unique across the whole map`);
  let result = tailnet;
  for (const node of allNodes(tailnet)) {
    const d = node.derper;
    if (d.certificateSource === "self-signed") {
      const issued = store.selfSignedCertificate(node.name, node.hostname, d.selfSignedValidityDays!, REISSUE_BEFORE_DAYS, now);
      result = withNode(result, node.name, (n) => ({
        ...n,
        certName: certificatePin(issued.der),
        derper: { ...n.derper, certificateFiles: { certFile: issued.certFile, keyFile: issued.keyFile } },
      }));
    }
  }
  // The one place a model becomes prepared (see PreparedTailnet).
  return result as PreparedTailnet;
}
