/**
 * The Handlebars helpers templates write values with: one escaper per output format
 * (render/escape/), named after it, so a template never writes a value raw. Each template has a
 * format (by its name, {@link templateFormat}) and may write a value only through a helper of that
 * format, or through `comment` (a `#` comment line) or `plain` (a vetted simple word, checked);
 * test/render/templates.test.ts scans every template and fails on any other mustache.
 *
 * | helper | format | writes |
 * | --- | --- | --- |
 * | `comment x` | any | text in a `#` comment line (escape/comment.ts) |
 * | `plain x` | any | a plain word or words, refused unless plain (escape/plain.ts) |
 * | `sh x` / `shWords list` / `shInDq x` | sh | a word / words / text inside "..." (escape/shell.ts) |
 * | `unitValue x` / `unitPath x` / `exec a b ...` / `unitName x` / `unitNames list` / `unitDirs list` | systemd | (escape/systemd.ts) |
 * | `dockerJson x` / `dockerRun x` / `dockerArg x` | dockerfile | (escape/dockerfile.ts) |
 * | `nftString x` / `nftAddrs list` | nftables | (escape/nftables.ts) |
 *
 * `unitName`/`unitNames` may also be used inside another format's helper, e.g.
 * `{{shWords (unitNames timers)}}`: the outer helper is the one that escapes for the file.
 */
import { commentText } from "./escape/comment.js";
import { dockerArgument, dockerJsonString, dockerRunWord } from "./escape/dockerfile.js";
import { nftAddressSet, nftString } from "./escape/nftables.js";
import { plainWord, plainWords } from "./escape/plain.js";
import { UnwritableValueError } from "./escape/refuse.js";
import { shInDoubleQuotes, shellQuote, shellWords } from "./escape/shell.js";
import { execCommand, unitDirectories, unitName, unitPath, unitValue } from "./escape/systemd.js";

/** The format of a template's output. */
export type TemplateFormat = "systemd" | "sh" | "dockerfile" | "nftables";

/** Where a helper may be the outermost call of a mustache: in templates of these formats, or in any. */
type Formats = readonly TemplateFormat[] | "any";

interface Helper {
  readonly formats: Formats;
  readonly write: (...values: unknown[]) => string | string[];
}

function text(helper: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return value.map((v) => text(helper, v)).join(" ");
  throw new UnwritableValueError(`the template helper ${helper}`, String(value), `it takes text, not a ${value === null ? "null" : typeof value}`);
}

function list(helper: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw new UnwritableValueError(`the template helper ${helper}`, String(value), "it takes a list");
  return value.map((v) => text(helper, v));
}

/** Every helper, by the name templates call it. */
export const TEMPLATE_HELPERS: Readonly<Record<string, Helper>> = {
  comment: { formats: "any", write: (v) => commentText(text("comment", v)) },
  plain: { formats: "any", write: (v) => (Array.isArray(v) ? plainWords(v as (string | number)[]) : plainWord(v as string | number)) },
  sh: { formats: ["sh"], write: (v) => shellQuote(text("sh", v)) },
  shWords: { formats: ["sh"], write: (v) => shellWords(list("shWords", v)) },
  shInDq: { formats: ["sh"], write: (v) => shInDoubleQuotes(text("shInDq", v)) },
  unitValue: { formats: ["systemd"], write: (v) => unitValue(text("unitValue", v)) },
  unitPath: { formats: ["systemd"], write: (v) => unitPath(text("unitPath", v)) },
  exec: { formats: ["systemd"], write: (...args) => execCommand(args.flatMap((a) => (Array.isArray(a) ? list("exec", a) : [text("exec", a)]))) },
  unitName: { formats: ["systemd"], write: (v) => unitName(text("unitName", v)) },
  unitNames: { formats: ["systemd"], write: (v) => list("unitNames", v).map(unitName) },
  unitDirs: { formats: ["systemd"], write: (v) => unitDirectories(Array.isArray(v) ? list("unitDirs", v) : [text("unitDirs", v)]) },
  dockerJson: { formats: ["dockerfile"], write: (v) => dockerJsonString(text("dockerJson", v)) },
  dockerRun: { formats: ["dockerfile"], write: (v) => dockerRunWord(text("dockerRun", v)) },
  dockerArg: { formats: ["dockerfile"], write: (v) => dockerArgument(text("dockerArg", v)) },
  nftString: { formats: ["nftables"], write: (v) => nftString(text("nftString", v)) },
  nftAddrs: { formats: ["nftables"], write: (v) => nftAddressSet(list("nftAddrs", v)) },
};

/** Helpers that only transform a value for an outer helper (they may be used inside any format's helper). */
export const TRANSFORM_HELPERS: readonly string[] = ["unitName", "unitNames"];

/** Partials, by name, and the format of the templates that include them. */
const PARTIAL_FORMATS: Readonly<Record<string, TemplateFormat>> = { "systemd-hardening": "systemd", "cdktf-tailnet-sandbox": "systemd" };

/** The format of templates/<name>.hbs, from its name. */
export function templateFormat(name: string): TemplateFormat {
  if (/\.(service|timer|path)$/.test(name) || PARTIAL_FORMATS[name] === "systemd") return "systemd";
  if (name.endsWith(".sh")) return "sh";
  if (name.endsWith(".Dockerfile")) return "dockerfile";
  if (name === "nftables.conf") return "nftables";
  throw new Error(`cdktf-tailnet: templates/${name}.hbs has no known format; name it *.service, *.timer, *.path, *.sh, *.Dockerfile or nftables.conf`);
}

/** Whether `helper` may write the values of a template of `format`. */
export function helperWrites(helper: string, format: TemplateFormat): boolean {
  const h = TEMPLATE_HELPERS[helper];
  return h !== undefined && (h.formats === "any" || h.formats.includes(format));
}

/** What Handlebars passes a helper last: where the call is, and the render's data (`template`: the template's name). */
interface HelperOptions {
  readonly loc?: { readonly start: { readonly line: number } };
  readonly data?: { readonly template?: string };
}

/**
 * The helpers as Handlebars calls them (the last argument is Handlebars' options object). A value
 * the data lacks is an error naming the template and line (strict mode checks only plain
 * `{{field}}` lookups, not a helper's arguments).
 */
export function handlebarsHelpers(): Record<string, (...args: unknown[]) => unknown> {
  return Object.fromEntries(
    Object.entries(TEMPLATE_HELPERS).map(([name, h]) => [
      name,
      (...args: unknown[]) => {
        const options = args.pop() as HelperOptions;
        if (args.some((a) => a === undefined)) {
          throw new Error(
            `cdktf-tailnet: templates/${options.data?.template ?? "?"}.hbs line ${options.loc?.start.line ?? "?"}: "${name}" got a value that is not defined in the template's data`,
          );
        }
        return h.write(...args);
      },
    ]),
  );
}
