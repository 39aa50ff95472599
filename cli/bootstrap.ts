/**
 * `cdktf-tailnet bootstrap`: after deploy, create the model's users and pre-auth keys in the
 * running headscale, and say how each device joins. Idempotent: what was created before (as
 * recorded in the secrets directory) is kept; nothing new is created unless asked
 * (`rotateKeys`). Keys are secrets: each is written to its own 0600 file, and join commands
 * reference the file (`--auth-key=file:<path>`) unless the caller asks to see the key. The join
 * commands come with what the clients need: the oldest Tailscale the target headscale accepts
 * and the release every node should run.
 */
import { clientAdvice, type ResolvedTailnet } from "../model/index.js";
import { forwardingSetup, joinCommand } from "../render/join-commands.js";
import type { SecretStore } from "../secrets/index.js";
import type { HeadscaleCli, HeadscalePreAuthKey, HeadscaleUser } from "./headscale-cli.js";

/** What bootstrap records in the secrets directory (no key material: that is in the key files). */
interface BootstrapState {
  readonly keys: Record<string, { readonly id: string; readonly user: string; readonly file: string }>;
}

const STATE_FILE = "bootstrap.json";

export interface BootstrapOptions {
  readonly cli: HeadscaleCli;
  readonly store: SecretStore;
  /** Replace keys created before. */
  readonly rotateKeys?: boolean;
  /** Put the keys themselves into the join commands instead of `file:` references. */
  readonly showKeys?: boolean;
}

export interface BootstrapDevice {
  readonly name: string;
  readonly keyFile: string;
  /** `created`, `rotated`, or why an existing key was kept. */
  readonly keyStatus: string;
  readonly joinCommand: string;
  readonly forwarding: readonly string[];
}

export interface BootstrapResult {
  /**
   * What the devices' Tailscale clients need with the target headscale: the minimum it accepts,
   * the release every node should run for known fixes, mixed-version caveats (model/advisories.ts).
   */
  readonly clientAdvice: readonly string[];
  readonly createdUsers: readonly string[];
  readonly devices: readonly BootstrapDevice[];
  /** Keys for users without devices (their `preAuthKey` in the spec). */
  readonly userKeys: readonly { readonly user: string; readonly keyFile: string; readonly keyStatus: string }[];
}

function keyState(existing: HeadscalePreAuthKey | undefined): string {
  if (!existing) return "kept (not listed by headscale any more: rerun with --rotate-keys)";
  if (existing.used && !existing.reusable) return "kept (used: the device has joined)";
  if (existing.expiration && new Date(existing.expiration) < new Date()) return "kept (expired: rerun with --rotate-keys)";
  return "kept";
}

export async function bootstrap(tailnet: ResolvedTailnet, options: BootstrapOptions): Promise<BootstrapResult> {
  const { cli, store } = options;
  const state: BootstrapState = JSON.parse(store.read(STATE_FILE) ?? '{"keys":{}}') as BootstrapState;
  const users = new Map((await cli.users()).map((u) => [u.name, u]));
  const createdUsers: string[] = [];
  for (const u of tailnet.users) {
    if (!users.has(u.name)) {
      users.set(u.name, await cli.createUser(u.name));
      createdUsers.push(u.name);
    }
  }
  const listed = new Map((await cli.preAuthKeys([...users.values()])).map((k) => [k.id, k]));

  const ensureKey = async (name: string, user: HeadscaleUser, tags: readonly string[]): Promise<{ file: string; status: string }> => {
    const recorded = state.keys[name];
    if (recorded && !options.rotateKeys && store.read(recorded.file) !== undefined) {
      return { file: store.path(recorded.file), status: keyState(listed.get(recorded.id)) };
    }
    const settings = tailnet.users.find((u) => u.name === user.name)!.preAuthKey;
    const key = await cli.createPreAuthKey(user, { ...settings, tags });
    const file = `preauth-${name}.key`;
    store.write(file, `${key.key}\n`);
    state.keys[name] = { id: key.id, user: user.name, file };
    return { file: store.path(file), status: recorded ? "rotated" : "created" };
  };

  const devices: BootstrapDevice[] = [];
  for (const device of tailnet.devices) {
    const { file, status } = await ensureKey(device.name, users.get(device.user)!, device.tags);
    const authKey = options.showKeys ? store.read(`preauth-${device.name}.key`)!.trim() : `file:${file}`;
    devices.push({ name: device.name, keyFile: file, keyStatus: status, joinCommand: joinCommand(tailnet, device, authKey), forwarding: forwardingSetup(device) });
  }
  const deviceUsers = new Set(tailnet.devices.map((d) => d.user));
  const userKeys = [];
  for (const u of tailnet.users.filter((x) => !deviceUsers.has(x.name))) {
    const { file, status } = await ensureKey(`user-${u.name}`, users.get(u.name)!, []);
    userKeys.push({ user: u.name, keyFile: file, keyStatus: status });
  }
  store.write(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  return { clientAdvice: clientAdvice(tailnet.headscale.version), createdUsers, devices, userKeys };
}
