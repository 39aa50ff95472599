/**
 * Synthesized Terraform JSON (cdk.tf.json) as Terraform sees it: every string is a template, so
 * `${` and `%{` start expressions and directives (`$${` and `%%{` are literals). The structure is
 * the set of attribute paths (resource addresses without cdktf's hash suffix) with each leaf's
 * type and its number of expressions; so a value may change a string, but not add a resource, an
 * attribute or an expression.
 *
 * Strings Terraform hands to another parser (files uploaded into containers and onto VMs, shell
 * commands of seed containers and provisioners) are returned as embedded files, unescaped, for
 * the fuzzer to compare in their own formats.
 */
import { jsonEntries } from "./tree.js";
import { identity, type Normalize, type Structure } from "./types.js";

/** How many expressions (`${`) and directives (`%{`) Terraform finds in a string. */
export function terraformExpressions(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const two = text.slice(i, i + 2);
    const three = text.slice(i, i + 3);
    if (three === "$${" || three === "%%{") i += 2;
    else if (two === "${" || two === "%{") {
      n++;
      i += 1;
    }
  }
  return n;
}

/** A string's text after Terraform's template escapes, as the uploaded file or command gets it. */
export function terraformUnescape(text: string): string {
  return text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
}

/** cdktf's logical id without its hash suffix. */
function stableId(id: string): string {
  return id.replace(/_[0-9A-F]{8}$/, "");
}

/** A string inside cdk.tf.json that another program parses: where it is and where it goes. */
export interface EmbeddedFile {
  /** e.g. `docker_container.tailnet_headscale_Config_Seed.upload[0]`. */
  readonly where: string;
  /** The path it is written to (its format follows from it), or `sh -c` for a command. */
  readonly target: string;
  readonly content: string;
}

type Json = Record<string, unknown>;

/** Every string in cdk.tf.json that is a file's content or a shell command. */
export function embeddedFiles(tf: Json, normalize: Normalize = identity): EmbeddedFile[] {
  const out: EmbeddedFile[] = [];
  const resources = (tf.resource ?? {}) as Record<string, Record<string, Json>>;
  for (const [type, byId] of Object.entries(resources)) {
    for (const [id, r] of Object.entries(byId)) {
      const at = `${type}.${normalize(stableId(id))}`;
      ((r.upload as Json[] | undefined) ?? []).forEach((u, i) => {
        if (typeof u.content === "string") out.push({ where: `${at}.upload[${i}]`, target: String(u.file), content: terraformUnescape(u.content) });
      });
      const entrypoint = r.entrypoint as string[] | undefined;
      if (entrypoint?.at(-1) === "-c" && Array.isArray(r.command) && typeof r.command[0] === "string") {
        out.push({ where: `${at}.command`, target: "sh -c", content: terraformUnescape(r.command[0]) });
      }
      ((r.provisioner as Json[] | undefined) ?? []).forEach((p, i) => {
        const file = p.file as Json | undefined;
        const exec = p["remote-exec"] as Json | undefined;
        if (file && typeof file.content === "string")
          out.push({ where: `${at}.provisioner[${i}]`, target: String(file.destination), content: terraformUnescape(file.content) });
        if (exec && Array.isArray(exec.inline))
          out.push({ where: `${at}.provisioner[${i}]`, target: "sh -c", content: (exec.inline as string[]).map(terraformUnescape).join("\n") });
      });
    }
  }
  return out;
}

/** The structure of cdk.tf.json: every attribute path, its type and its expression count. */
export function terraformStructure(tf: Json, normalize: Normalize = identity): Structure {
  const entries: string[] = [];
  const top = (section: string, value: unknown, ids: boolean) => {
    const byType = (value ?? {}) as Record<string, Record<string, unknown>>;
    for (const [type, byId] of Object.entries(byType)) {
      if (!ids) {
        addEntries([section, type], byId);
        continue;
      }
      for (const [id, body] of Object.entries(byId)) addEntries([section, type, normalize(stableId(id))], body);
    }
  };
  const addEntries = (prefix: string[], value: unknown) => {
    const strings = new Map<string, number>();
    const collect = (v: unknown, path: (string | number)[]) => {
      if (typeof v === "string") strings.set(JSON.stringify(path), terraformExpressions(v));
      else if (Array.isArray(v))
        v.forEach((x, i) => {
          collect(x, [...path, i]);
        });
      else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) collect(x, [...path, k]);
    };
    collect(value, []);
    for (const [path, type] of jsonEntries(value)) {
      const exprs = type === "str" ? (strings.get(JSON.stringify(path)) ?? 0) : 0;
      const shown = [...prefix, ...path.map((p) => (typeof p === "number" ? `[${p}]` : normalize(p)))].join(".");
      entries.push(`${shown}: ${type}${exprs > 0 ? ` expressions=${exprs}` : ""}`);
    }
  };
  top("resource", tf.resource, true);
  top("data", tf.data, true);
  top("variable", tf.variable, false);
  top("output", tf.output, false);
  top("locals", tf.locals === undefined ? undefined : { locals: tf.locals }, false);
  addEntries(["provider"], tf.provider);
  return { entries: entries.sort(), ordered: false };
}
