/**
 * The provider classes the constructs use, loaded by deep path (never the packages' index, which
 * loads every resource) and through `require`: the provider packages are CommonJS, and an ESM
 * `import` of them makes Node lex each large file for its export names first, which measurably
 * slows every synth. Types still come from the same files.
 */
import { createRequire } from "node:module";
import type * as CloudflareDataZone from "@cdktf/provider-cloudflare/lib/data-cloudflare-zone/index.js";
import type * as CloudflareDnsRecord from "@cdktf/provider-cloudflare/lib/dns-record/index.js";
import type * as CloudflareProviderModule from "@cdktf/provider-cloudflare/lib/provider/index.js";
import type * as DockerContainer from "@cdktf/provider-docker/lib/container/index.js";
import type * as DockerImage from "@cdktf/provider-docker/lib/image/index.js";
import type * as DockerProviderModule from "@cdktf/provider-docker/lib/provider/index.js";
import type * as DockerVolume from "@cdktf/provider-docker/lib/volume/index.js";

const require = createRequire(import.meta.url);

export const { Container } = require("@cdktf/provider-docker/lib/container/index.js") as typeof DockerContainer;
export const { Image } = require("@cdktf/provider-docker/lib/image/index.js") as typeof DockerImage;
export const { Volume } = require("@cdktf/provider-docker/lib/volume/index.js") as typeof DockerVolume;
export const { DockerProvider } = require("@cdktf/provider-docker/lib/provider/index.js") as typeof DockerProviderModule;
export const { DnsRecord } = require("@cdktf/provider-cloudflare/lib/dns-record/index.js") as typeof CloudflareDnsRecord;
export const { DataCloudflareZone } = require("@cdktf/provider-cloudflare/lib/data-cloudflare-zone/index.js") as typeof CloudflareDataZone;
export const { CloudflareProvider } = require("@cdktf/provider-cloudflare/lib/provider/index.js") as typeof CloudflareProviderModule;

export type Container = DockerContainer.Container;
export type Image = DockerImage.Image;
export type Volume = DockerVolume.Volume;
export type DockerProvider = DockerProviderModule.DockerProvider;
export type DnsRecord = CloudflareDnsRecord.DnsRecord;
export type CloudflareProvider = CloudflareProviderModule.CloudflareProvider;
export type ContainerUpload = DockerContainer.ContainerUpload;
export type ContainerPorts = DockerContainer.ContainerPorts;
export type ContainerLabels = DockerContainer.ContainerLabels;
