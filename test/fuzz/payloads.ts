/**
 * What the fuzzer puts into string fields: characters and sequences that mean something in one of
 * the output formats (line breaks for systemd/YAML/nftables/Dockerfiles, quotes and `$(` for shell,
 * `%h` for systemd specifiers, `${`/`%{` for Terraform, `#` for comments, `[Service]` for a new
 * unit section, `../` for paths), and a 10 kB string. Each goes in as the whole value and embedded
 * in the field's own valid value (`home-1<payload>x`), since a bare payload is refused trivially.
 */

/** One payload: a short name for reports, and its text. */
export interface Payload {
  readonly name: string;
  readonly text: string;
}

export const PAYLOADS: readonly Payload[] = [
  { name: "LF", text: "\n" },
  { name: "CR", text: "\r" },
  { name: "U+2028", text: "\u2028" },
  { name: "U+2029", text: "\u2029" },
  { name: "U+0085", text: "\u0085" },
  { name: "NUL", text: "\0" },
  { name: "squote", text: "'" },
  { name: "dquote", text: '"' },
  { name: "backslash", text: "\\" },
  { name: "$(", text: "$(" },
  { name: "backtick", text: "`" },
  { name: "semicolon", text: ";" },
  { name: "${", text: "${" },
  { name: "%{", text: "%{" },
  { name: "%h", text: "%h" },
  { name: "hash", text: "#" },
  { name: "[Service]", text: "[Service]" },
  { name: "../", text: "../" },
  { name: "10kB", text: "a".repeat(10 * 1024) },
  // Complete injections, which a parser accepts where a lone metacharacter makes it fail:
  { name: "LF[Service]", text: "\n[Service]\nExecStartPre=/bin/true\n" },
  { name: "$(id)", text: "$(id)" },
];

/** How a payload is placed: the whole value, or inside the field's own value. */
export type Placement = "whole" | "embedded";

/** One value to try in a field. */
export interface VariantValue {
  readonly payload: Payload;
  readonly placement: Placement;
  readonly value: string;
}

/**
 * The values to try in a field whose valid value is `base`: each payload whole, and embedded as
 * `<base><payload>x` (a value that still starts like a valid one and does not end in the payload).
 */
export function variantValues(base: string): VariantValue[] {
  const out: VariantValue[] = [];
  const seen = new Set<string>([base]);
  for (const payload of PAYLOADS) {
    for (const [placement, value] of [
      ["whole", payload.text],
      ["embedded", `${base}${payload.text}x`],
    ] as const) {
      if (seen.has(value)) continue;
      seen.add(value);
      out.push({ payload, placement, value });
    }
  }
  return out;
}

/** A payload's name with its placement, for reports: `LF` or `LF (embedded)`. */
export function variantLabel(v: { payload: Payload; placement: Placement }): string {
  return v.placement === "whole" ? v.payload.name : `${v.payload.name} (embedded)`;
}
