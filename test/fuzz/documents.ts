/**
 * Every text the kit produces for one spec, as a tree of documents in their formats: the rendered
 * files, cdk.tf.json, and what is inside them that another parser reads (the files cloud-init
 * writes, a Dockerfile's RUN commands, the files and commands in cdk.tf.json). Parsing is cached
 * by content and batched: in-process formats at once, shell scripts through shfmt (a few at a
 * time) and YAML through one PyYAML process per round, so a fuzz run costs one parse per distinct
 * text.
 */
import { dockerfileStructure, dockerShellCommands } from "./structure/dockerfile.js";
import { nftStructure } from "./structure/nftables.js";
import { parseShell, shellStructureOf } from "./structure/shell.js";
import { unitStructure } from "./structure/systemd-unit.js";
import { embeddedFiles, terraformStructure } from "./structure/terraform.js";
import { jsonStructure, treeStructureOf } from "./structure/tree.js";
import { identity, type Normalize, type Structure } from "./structure/types.js";
import { parseYamlBatch, type YamlResult } from "./structure/yaml.js";

export type Format = "systemd" | "shell" | "yaml" | "json" | "nftables" | "dockerfile" | "terraform" | "opaque";

/** One document: where it is (a file's path, or `<container> > <place>`), its format and text. */
export interface Doc {
  readonly location: string;
  readonly format: Format;
  readonly content: string;
}

/** The format of a file from its path (or `sh -c` for a command line). */
export function formatOf(path: string): Format {
  const base = path.split("/").at(-1) ?? path;
  if (path === "sh -c" || /\.(sh|env)$/.test(base)) return "shell";
  if (/\.(service|timer|path|socket|mount)$/.test(base)) return "systemd";
  if (/nftables\.conf$|\.nft$/.test(base)) return "nftables";
  if (/\.ya?ml$/.test(base)) return "yaml";
  if (/\.json$/.test(base)) return base === "cdk.tf.json" ? "terraform" : "json";
  if (base === "Dockerfile") return "dockerfile";
  return "opaque";
}

type ShellParse = { tree: unknown } | { error: string };

/** Parses documents once per distinct text and answers for their structure and their children. */
export class DocumentParser {
  readonly #shell = new Map<string, ShellParse>();
  readonly #yaml = new Map<string, YamlResult>();
  readonly #pendingShell = new Set<string>();
  readonly #pendingYaml = new Map<string, boolean>();
  /** Distinct texts parsed by an external program, for the report. */
  readonly counts = { shell: 0, yaml: 0 };

  /** Notes a document (and the children already known) for the next {@link settle}. */
  add(doc: Doc): void {
    if (doc.format === "shell" && !this.#shell.has(doc.content)) this.#pendingShell.add(doc.content);
    if (doc.format === "yaml" && !this.#yaml.has(doc.content)) this.#pendingYaml.set(doc.content, isCloudConfig(doc.content));
    for (const child of this.#knownChildren(doc)) this.add(child);
  }

  /** Parses everything added, and the children parsing reveals, until nothing is left. */
  async settle(): Promise<void> {
    while (this.#pendingShell.size > 0 || this.#pendingYaml.size > 0) {
      const yaml = [...this.#pendingYaml];
      this.#pendingYaml.clear();
      const shell = [...this.#pendingShell];
      this.#pendingShell.clear();
      const [yamlResults] = await Promise.all([parseYamlBatch(yaml.map(([text, cloudConfig]) => ({ text, cloudConfig }))), this.#parseShells(shell)]);
      this.counts.yaml += yaml.length;
      yaml.forEach(([text], i) => {
        this.#yaml.set(text, yamlResults[i]!);
      });
      yaml.forEach(([text]) => {
        for (const child of this.#yamlChildren({ location: "", format: "yaml", content: text })) this.add(child);
      });
    }
  }

  async #parseShells(scripts: string[]): Promise<void> {
    this.counts.shell += scripts.length;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < scripts.length; i = next++) this.#shell.set(scripts[i]!, await parseShell(scripts[i]!));
    };
    await Promise.all([worker(), worker(), worker()]);
  }

  #knownChildren(doc: Doc): Doc[] {
    if (doc.format === "dockerfile")
      return dockerShellCommands(doc.content).map((content, i) => ({ location: `${doc.location} > RUN/CMD[${i}]`, format: "shell", content }));
    if (doc.format === "terraform") {
      return embeddedFiles(JSON.parse(doc.content)).map((f) => ({
        location: `${doc.location} > ${f.where} ${f.target}`,
        format: formatOf(f.target),
        content: f.content,
      }));
    }
    return [];
  }

  #yamlChildren(doc: Doc): Doc[] {
    const parsed = this.#yaml.get(doc.content);
    if (!parsed || "error" in parsed) return [];
    return (parsed.files ?? []).map((f) => ({ location: `${doc.location} > ${f.path}`, format: formatOf(f.path), content: f.content }));
  }

  /** The document and everything inside it, depth first (after {@link settle}). */
  expand(doc: Doc, normalize: Normalize = identity): Doc[] {
    const children =
      doc.format === "yaml" ? this.#yamlChildren(doc) : doc.format === "terraform" ? this.#terraformChildren(doc, normalize) : this.#knownChildren(doc);
    return [doc, ...children.flatMap((c) => this.expand(c, normalize))];
  }

  #terraformChildren(doc: Doc, normalize: Normalize): Doc[] {
    return embeddedFiles(JSON.parse(doc.content), normalize).map((f) => ({
      location: `${doc.location} > ${f.where} ${f.target}`,
      format: formatOf(f.target),
      content: f.content,
    }));
  }

  /** A document's structure; `normalize` maps the variant's value back to the baseline's in keys and names. */
  structure(doc: Doc, normalize: Normalize = identity): Structure {
    switch (doc.format) {
      case "systemd":
        return unitStructure(doc.content);
      case "shell":
        return shellStructureOf(this.#need(this.#shell, doc), normalize);
      case "yaml": {
        const parsed = this.#need(this.#yaml, doc);
        return "error" in parsed ? parsed : treeStructureOf(parsed.entries, normalize);
      }
      case "json":
        return jsonStructure(doc.content, normalize);
      case "nftables":
        return nftStructure(doc.content);
      case "dockerfile":
        return dockerfileStructure(doc.content);
      case "terraform":
        return terraformStructure(JSON.parse(doc.content), normalize);
      case "opaque":
        return { entries: [], ordered: false };
    }
  }

  /** cloud-init's schema problems for a cloud-config document (after {@link settle}). */
  cloudInitProblems(doc: Doc): readonly string[] | undefined {
    const parsed = this.#yaml.get(doc.content);
    return parsed && !("error" in parsed) ? parsed.schemaErrors : undefined;
  }

  #need<T>(cache: Map<string, T>, doc: Doc): T {
    const v = cache.get(doc.content);
    if (v === undefined) throw new Error(`${doc.location} (${doc.format}) was not parsed: add() it before settle()`);
    return v;
  }
}

/** Whether a YAML text is cloud-init user-data. */
export function isCloudConfig(text: string): boolean {
  return text.startsWith("#cloud-config");
}
