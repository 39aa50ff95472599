/**
 * Settings files the kit's host scripts source (`. file` in POSIX sh): one `NAME='value'` per line,
 * every value single-quoted, so nothing in a value is expanded. Built from data, never templated.
 * They hold no secrets: secrets are named by the path of a file on the host.
 */
import { commentText } from "./escape/comment.js";
import { shSingleQuote } from "./escape/shell.js";

/** `# comment` lines (each kept to one line), then `NAME='value'` lines in the given order. */
export function renderEnvFile(comments: readonly string[], entries: readonly (readonly [string, string | number | boolean])[]): string {
  for (const [name] of entries) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`cdktf-tailnet: ${JSON.stringify(name)} is not a settings name`);
  }
  return [...comments.map((c) => (c === "" ? "#" : `# ${commentText(c)}`)), ...entries.map(([k, v]) => `${k}=${shSingleQuote(String(v))}`), ""].join("\n");
}
