/**
 * YAML documents read by PyYAML, the YAML library cloud-init (and so the VM) uses, in one Python
 * process for any number of documents: each document's key paths and types, and for cloud-config
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

// Every document is loaded with PyYAML's libyaml-based safe loader: the YAML 1.1 rules of
// cloud-init's own loader (a pure-Python SafeLoader), several times faster; structure.test.ts checks
// both agree on every payload. Where libyaml refuses a cloud-config document, cloud-init's loader
// has the last word. User-data is then checked as validate_cloudconfig_file does after loading
// (the #cloud-config header, a mapping, validate_cloudconfig_schema strict), once per shape: the
// document with its write_files contents emptied (the schema only asks that they be strings).
const SCRIPT = String.raw`
import json, sys, yaml
req = json.load(sys.stdin)
schema = None
checked = {}
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
def schema_problems(text, value):
    global schema
    from cloudinit.config.schema import CLOUD_CONFIG_HEADER, SchemaValidationError, get_schema, validate_cloudconfig_schema
    if schema is None:
        schema = get_schema()
    problems = []
    if not text.encode("utf-8").startswith(CLOUD_CONFIG_HEADER):
        problems.append("does not begin with #cloud-config")
    if not isinstance(value, dict):
        return problems + ["Cloud-config is not a YAML dict."]
    shape = dict(value)
    if isinstance(shape.get("write_files"), list):
        shape["write_files"] = [dict(f, content="") if isinstance(f, dict) and isinstance(f.get("content"), str) else f for f in shape["write_files"]]
    k = json.dumps(shape, sort_keys=True, default=repr)
    if k not in checked:
        try:
            validate_cloudconfig_schema(shape, schema, strict=True, log_deprecations=False)
            checked[k] = []
        except SchemaValidationError as e:
            checked[k] = ["%s: %s" % (p.path, p.message) for p in e.schema_errors]
    return problems + checked[k]
results = []
for doc in req["docs"]:
    text = doc["text"]
    try:
        try:
            value = yaml.load(text, Loader=Loader)
        except Exception:
            if not doc["cloudConfig"]:
                raise
            from cloudinit import safeyaml
            value = safeyaml.load(text)
    except Exception as e:
        results.append({"error": ("%s: %s" % (type(e).__name__, e)).replace("\n", " ")[:300]})
        continue
    res = {"entries": entries(value, [], [])}
    if doc["cloudConfig"]:
        res["schemaErrors"] = schema_problems(text, value)
        wf = value.get("write_files") if isinstance(value, dict) else None
        res["files"] = [{"path": str(f.get("path")), "content": f.get("content")} for f in (wf or []) if isinstance(f, dict) and isinstance(f.get("content"), str)]
    results.append(res)
json.dump(results, sys.stdout)
`;

/** PyYAML's two loaders (pure Python, as cloud-init uses, and libyaml) on the same texts: whether each agrees. */
export function loadersAgree(texts: readonly string[]): Promise<boolean[]> {
  const script = `
import json, sys, yaml
def load(s, L):
    try:
        return ["ok", yaml.load(s, Loader=L)]
    except Exception as e:
        return ["error", type(e).__name__]
print(json.dumps([load(t, yaml.SafeLoader) == load(t, yaml.CSafeLoader) for t in json.load(sys.stdin)]))
`;
  return new Promise((resolve, reject) => {
    const child = execFile(SYSTEM_PYTHON, ["-c", script], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`PyYAML failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as boolean[]);
    });
    child.stdin!.end(JSON.stringify(texts));
  });
}

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
