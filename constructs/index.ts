/**
 * cdktf constructs: thin adapters from the resolved model and the rendered files to Terraform
 * resources. L3: {@link Tailnet}. L2: {@link HeadscaleServer}, {@link DerpRegion} /
 * {@link DerpNode}, {@link DnsRecords}, {@link DockerHost}, and a Docker host's DNS helpers
 * {@link DynamicDns} and {@link AcmeClient}, headscale's {@link HeadscaleBackup}; {@link VmHost}
 * installs a VM host over SSH.
 */
export { DerperImage, type DerperImageProps } from "./derper-image.js";
export { DerpNode, type DerpNodeProps } from "./derp-node.js";
export { DerpRegion, type DerpRegionProps } from "./derp-region.js";
export { DnsRecords, type DnsRecordsProps } from "./dns-records.js";
export { AcmeClient, type AcmeClientProps, DynamicDns, type DynamicDnsProps, dnsSecretVariable } from "./dns-helpers.js";
export { DockerHost, type DockerHostProps, HELPER_IMAGE } from "./docker-host.js";
export { HeadscaleServer, type HeadscaleServerProps } from "./headscale-server.js";
export { HeadscaleBackup, type HeadscaleBackupProps } from "./headscale-backup.js";
// The type of HeadscaleServer.config/.policy (an internal building block, not a construct to use on its own).
export type { SeededVolume, SeededVolumeProps, SeedFile } from "./seeded-volume.js";
export { Tailnet, type TailnetProps } from "./tailnet.js";
export { VmHost, type VmHostProps, type VmSshConnection } from "./vm-host.js";
export { annotateWarnings, warningsOf } from "./warnings.js";
