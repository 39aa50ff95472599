/**
 * Where clients reach headscale, checked as one: the server URL's scheme and port against who
 * terminates TLS and where headscale listens, the Let's Encrypt name against the URL's host, and
 * the host that should run it. The rules only refuse what is certainly wrong: with
 * `tls.mode: "proxy"` a reverse proxy owns the URL's port, so the URL and the listener may differ.
 */
import type { Present } from "./context.js";
import type { IssueList } from "./issues.js";
import { HTTPS_PORT, HTTP_PORT, listenAddrOf, tlsOf } from "./defaults.js";
import { addressKind, isDnsName, isIp, joinHostPort, parseIp, parseListenAddress, unmapIpv4, urlHost, type AddressKind } from "./net.js";
import type { HeadscaleSpec, HostSpec } from "./spec.js";

/** What "public" means for a server URL's host, as the messages state it. */
const PUBLIC_MEANS = "a DNS name, or an address outside the loopback, private, link-local, CGNAT and ULA ranges";

/** Address kinds that are not public, as PUBLIC_MEANS states them. */
const NOT_PUBLIC: ReadonlySet<AddressKind> = new Set(["loopback", "private", "link-local", "cgnat", "ula"]);

/** A DNS name (but `localhost`), or an IP address outside the ranges PUBLIC_MEANS excludes (an IPv4-mapped one judged by its IPv4 address). */
export function isPublicHost(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost")) return false;
  const ip = parseIp(host);
  if (!ip) return true;
  return !NOT_PUBLIC.has(addressKind(unmapIpv4(ip) ?? ip));
}

/** The port a URL reaches: its explicit port, else the scheme's. */
function urlPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? HTTPS_PORT : HTTP_PORT;
}

/** Checks the server URL against TLS and the listener. Call only with a server URL that parsed. */
export function checkHeadscaleEndpoint(hs: HeadscaleSpec, issues: IssueList): void {
  const host = hs.serverUrl === undefined ? undefined : urlHost(hs.serverUrl);
  if (host === undefined || !/^https?:\/\//.test(hs.serverUrl)) return;
  const url = new URL(hs.serverUrl);
  const tls = tlsOf(hs);
  if (url.protocol === "http:") {
    // With headscale terminating TLS, checkServerUrl already refuses http://.
    if (tls.mode === "proxy" && isPublicHost(host)) {
      issues.add(
        "headscale.serverUrl",
        `${JSON.stringify(hs.serverUrl)} is plain HTTP to a public host (${PUBLIC_MEANS}): derper's /verify answers and OIDC logins would cross the network in cleartext`,
        `use "https://${url.host}" with TLS terminated by headscale or by a proxy in front; keep http:// for loopback and private addresses`,
      );
    }
    return;
  }
  if (tls.mode !== "proxy") {
    const listenAddr = listenAddrOf(hs);
    const listen = parseListenAddress(listenAddr);
    const port = urlPort(url);
    // TLS-ALPN-01 off 443 is reported on its own (checkTls), with its fix.
    const alpnOff443 = tls.mode === "letsencrypt" && tls.challenge === "TLS-ALPN-01" && listen?.port !== HTTPS_PORT;
    if (listen && listen.port !== port && !alpnOff443) {
      issues.add(
        "headscale.serverUrl",
        `${JSON.stringify(hs.serverUrl)} is port ${port}, but headscale terminates TLS itself (tls.mode ${JSON.stringify(tls.mode)}) and listens on port ${listen.port} (listenAddr ${JSON.stringify(listenAddr)}${hs.listenAddr === undefined ? ", the default" : ""}); nothing the kit deploys answers on port ${port}`,
        `set listenAddr to "${joinHostPort(listen.host, port)}", or put port ${listen.port} in serverUrl; with a reverse proxy in front, set tls.mode "proxy"`,
      );
    }
  }
  if (tls.mode === "letsencrypt") {
    if (tls.hostname === undefined && isIp(host)) {
      issues.add(
        "headscale.tls.mode",
        `Let's Encrypt issues no certificate for the IP address ${JSON.stringify(host)} in headscale's letsencrypt mode`,
        `use a DNS name in serverUrl, or tls.mode "files" with a certificate of your own`,
      );
    } else if (tls.hostname !== undefined && isDnsName(tls.hostname) && tls.hostname.toLowerCase() !== host) {
      issues.add(
        "headscale.tls.hostname",
        `${JSON.stringify(tls.hostname)} is not the server URL's host ${JSON.stringify(host)}; clients check the certificate against the URL's host, and headscale answers TLS only for this name`,
        `remove hostname (it defaults to the server URL's host), or set it to ${JSON.stringify(host)}`,
      );
    }
  }
}

/**
 * A warning when headscale's host has neither `docker` nor `vm`: nothing the kit deploys runs
 * headscale there (only its files are rendered, and its DNS records point at the host).
 */
export function checkHeadscaleTarget(hs: HeadscaleSpec, hosts: readonly Present<HostSpec>[], warnings: IssueList): void {
  const host = hosts.find(([h]) => h.name === hs.host)?.[0];
  if (!host || host.docker !== undefined || host.vm !== undefined) return;
  warnings.add(
    "headscale.host",
    `names host ${JSON.stringify(host.name)}, which has neither docker nor vm, so no deployment runs headscale there (only its files are rendered, and DNS records point at the host)`,
    `add docker or vm to host ${JSON.stringify(host.name)}, unless you install headscale there yourself from the rendered files`,
  );
}
