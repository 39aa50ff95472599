/**
 * YAML documents read by PyYAML, the parser cloud-init (and so the VM) uses, in one Python process
 * for any number of documents: each document's key paths and types, and for cloud-config
 * user-data also cloud-init's own schema validation (the checks of `validate_cloudconfig_file`,
 * what `cloud-init schema --config-file` runs) and the files its `write_files` puts on the VM,
 * which the fuzzer then compares in their own formats.
 */
import { execFile } from "node:child_process";
import type { TreeEntry } from "./tree.js";

/** Debian's python3: it has PyYAML and cloud-init's modules (cloud-init runs on it). */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** What PyYAML (and, for user-data, cloud-init) made of one document. */
export type YamlResult =
  | { readonly error: string }
  | {
      readonly entries: readonly TreeEntry[];
      /** cloud-init's schema problems (empty when valid); only for `#cloud-config` documents. */
      readonly schemaErrors?: readonly string[];
      /** write_files of a cloud-config document. */
      readonly files?: readonly { readonly path: string; readonly content: string }[];
    };

// User-data is loaded with cloud-init's own loader and checked as validate_cloudconfig_file does
// after loading (header, a mapping, validate_cloudconfig_schema strict); other documents with
// PyYAML's libyaml-based safe loader (the same YAML 1.1 rules, faster).
const SCRIPT = String.raw`
import json, sys, yaml
req = json.load(sys.stdin)
schema = None
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
def key(k):
    return k if isinstance(k, str) else "%s:%r" % (type(k).__name__, k)
def entries(v, path, out):
    if isinstance(v, dict):
        out.append([path, "dict"])
        for k, x in v.items():
            entries(x, path + [key(k)], out)
    elif isinstance(v, list):
        out.append([path, "list"])
        for i, x in enumerate(v):
            entries(x, path + [i], out)
    else:
        out.append([path, type(v).__name__])
    return out
results = []
for doc in req["docs"]:
    text = doc["text"]
    try:
        if doc["cloudConfig"]:
            from cloudinit import safeyaml
            value = safeyaml.load(text)
        else:
            value = yaml.load(text, Loader=Loader)
    except Exception as e:
        results.append({"error": ("%s: %s" % (type(e).__name__, e)).replace("\n", " ")[:300]})
        continue
    res = {"entries": entries(value, [], [])}
    if doc["cloudConfig"]:
        from cloudinit.config.schema import CLOUD_CONFIG_HEADER, SchemaValidationError, get_schema, validate_cloudconfig_schema
        if schema is None:
            schema = get_schema()
        problems = []
        if not text.encode("utf-8").startswith(CLOUD_CONFIG_HEADER):
            problems.append("does not begin with #cloud-config")
        if not isinstance(value, dict):
            problems.append("Cloud-config is not a YAML dict.")
        else:
            try:
                validate_cloudconfig_schema(value, schema, strict=True, log_deprecations=False)
            except SchemaValidationError as e:
                problems += ["%s: %s" % (p.path, p.message) for p in e.schema_errors]
        res["schemaErrors"] = problems
        wf = value.get("write_files") if isinstance(value, dict) else None
        res["files"] = [{"path": str(f.get("path")), "content": f.get("content")} for f in (wf or []) if isinstance(f, dict) and isinstance(f.get("content"), str)]
    results.append(res)
json.dump(results, sys.stdout)
`;

/** Parses every document with PyYAML in one process; user-data also goes through cloud-init's schema. */
export function parseYamlBatch(docs: readonly { text: string; cloudConfig: boolean }[]): Promise<YamlResult[]> {
  if (docs.length === 0) return Promise.resolve([]);
  return new Promise<YamlResult[]>((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, ["-c", SCRIPT], { maxBuffer: 1024 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`PyYAML batch failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as YamlResult[]);
    });
    child.stdin!.end(JSON.stringify({ docs }));
  });
}
