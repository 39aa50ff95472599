/**
 * The worked examples' own VMs: Hetzner Cloud servers declared through cdktf's generic classes, as
 * the bindings `cdktf get` generates for hetznercloud/hcloud would (`new HcloudProvider(...)`,
 * `new Server(this, "relay", {...})`). Any VM resource with an address attribute works the same way.
 */
import { TerraformProvider, TerraformResource } from "cdktf";
import type { Construct } from "constructs";

/** The hcloud provider (it reads HCLOUD_TOKEN at plan time). */
export class HcloudProvider extends TerraformProvider {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      terraformResourceType: "hcloud",
      terraformGeneratorMetadata: { providerName: "hcloud", providerVersion: "1.49.1" },
      terraformProviderSource: "hetznercloud/hcloud",
    });
  }
}

/** A Debian 12 server named `id`; its public IPv4 is `server.getStringAttribute("ipv4_address")`. */
export function hcloudServer(scope: Construct, id: string): TerraformResource {
  const vm = new TerraformResource(scope, id, {
    terraformResourceType: "hcloud_server",
    terraformGeneratorMetadata: { providerName: "hcloud" },
  });
  vm.addOverride("name", id);
  vm.addOverride("server_type", "cx22");
  vm.addOverride("image", "debian-12");
  vm.addOverride("location", "fsn1");
  return vm;
}
