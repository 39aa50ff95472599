/**
 * `cdktf-tailnet bootstrap`: after deploy, create the model's users and pre-auth keys in the
 * running headscale, and say how each device joins. Idempotent: what was created before (as
 * recorded in the secrets directory) is kept; nothing new is created unless asked
 * (`rotateKeys`). Keys are secrets: each is written to its own 0600 file, and join commands
 * reference the file (`--auth-key=file:<path>`) unless the caller asks to see the key. The join
 * commands come with what the clients need: the oldest Tailscale the target headscale accepts
 * and the release every node should run.
 *
 * Keys are filed by kind and name (`preauth-device/<device>.key`, `preauth-user/<user>.key`, see
 * secrets/store.ts), and so is what bootstrap records: a device named `user-alice` and the user
 * `alice` never share a key. A state file of the earlier layout (one namespace, `user-<name>` for
 * users) is read record by record, each kept only for the kind and owner it was made for.
 */
import { clientAdvice, type ResolvedTailnet } from "../model/index.js";
import { forwardingSetup, joinCommand } from "../render/join-commands.js";
import { UnwritableValueError } from "../render/escape/refuse.js";
import { SecretStore } from "../secrets/store.js";
import type { HeadscaleCli, HeadscalePreAuthKey, HeadscaleUser } from "./headscale-cli.js";

/** A key bootstrap created: headscale's id, its user, and its file in the secrets directory. */
interface KeyRecord {
  readonly id: string;
  readonly user: string;
  readonly file: string;
}

/** What bootstrap records in the secrets directory (no key material: that is in the key files), by kind and name. */
interface BootstrapState {
  readonly version: 2;
  readonly devices: Record<string, KeyRecord>;
  readonly users: Record<string, KeyRecord>;
}

const STATE_FILE = "bootstrap.json";

function isRecord(value: unknown): value is KeyRecord {
  const r = value as KeyRecord | undefined;
  return typeof r?.id === "string" && typeof r.user === "string" && typeof r.file === "string";
}

/**
 * The recorded state. The first layout kept devices and users in one map (`<device>`,
 * `user-<user>`); its records are kept only where the kind and owner match, so a device named
 * `user-alice` (another user's, with its tags) is never taken for alice's key.
 */
function readState(store: SecretStore, tailnet: ResolvedTailnet): BootstrapState {
  const text = store.read(STATE_FILE);
  const raw = (text === undefined ? {} : JSON.parse(text)) as { version?: number; devices?: unknown; users?: unknown; keys?: Record<string, unknown> };
  const pick = (from: unknown) =>
    Object.fromEntries(Object.entries((from ?? {}) as Record<string, unknown>).filter((e): e is [string, KeyRecord] => isRecord(e[1])));
  if (raw.version === 2) return { version: 2, devices: pick(raw.devices), users: pick(raw.users) };
  const old = pick(raw.keys);
  const devices: Record<string, KeyRecord> = {};
  const users: Record<string, KeyRecord> = {};
  for (const d of tailnet.devices) if (old[d.name]?.user === d.user) devices[d.name] = old[d.name]!;
  for (const u of tailnet.users) if (old[`user-${u.name}`]?.user === u.name) users[u.name] = old[`user-${u.name}`]!;
  return { version: 2, devices, users };
}

/** The recorded key's file, if it is still in the store (a record naming a file outside the store counts as none). */
function recordedKey(store: SecretStore, record: KeyRecord | undefined): string | undefined {
  if (!record) return undefined;
  try {
    return store.read(record.file);
  } catch (e) {
    if (e instanceof UnwritableValueError) return undefined;
    throw e;
  }
}

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
  const state = readState(store, tailnet);
  const users = new Map((await cli.users()).map((u) => [u.name, u]));
  const createdUsers: string[] = [];
  for (const u of tailnet.users) {
    if (!users.has(u.name)) {
      users.set(u.name, await cli.createUser(u.name));
      createdUsers.push(u.name);
    }
  }
  const listed = new Map((await cli.preAuthKeys([...users.values()])).map((k) => [k.id, k]));

  const ensureKey = async (
    kind: "devices" | "users",
    name: string,
    user: HeadscaleUser,
    tags: readonly string[],
  ): Promise<{ file: string; key: string; status: string }> => {
    const recorded = state[kind][name];
    const existing = recordedKey(store, recorded);
    if (recorded && !options.rotateKeys && existing !== undefined) {
      return { file: store.path(recorded.file), key: existing.trim(), status: keyState(listed.get(recorded.id)) };
    }
    const settings = tailnet.users.find((u) => u.name === user.name)!.preAuthKey;
    const key = await cli.createPreAuthKey(user, { ...settings, tags });
    const file = SecretStore.nameOf(kind === "devices" ? "preauth-device" : "preauth-user", name, ".key");
    store.write(file, `${key.key}\n`);
    state[kind][name] = { id: key.id, user: user.name, file };
    return { file: store.path(file), key: key.key, status: recorded ? "rotated" : "created" };
  };

  const devices: BootstrapDevice[] = [];
  for (const device of tailnet.devices) {
    const { file, key, status } = await ensureKey("devices", device.name, users.get(device.user)!, device.tags);
    const authKey = options.showKeys ? key : `file:${file}`;
    devices.push({
      name: device.name,
      keyFile: file,
      keyStatus: status,
      joinCommand: joinCommand(tailnet, device, authKey),
      forwarding: forwardingSetup(device),
    });
  }
  const deviceUsers = new Set(tailnet.devices.map((d) => d.user));
  const userKeys = [];
  for (const u of tailnet.users.filter((x) => !deviceUsers.has(x.name))) {
    const { file, status } = await ensureKey("users", u.name, users.get(u.name)!, []);
    userKeys.push({ user: u.name, keyFile: file, keyStatus: status });
  }
  store.write(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  return { clientAdvice: clientAdvice(tailnet.headscale.version), createdUsers, devices, userKeys };
}
