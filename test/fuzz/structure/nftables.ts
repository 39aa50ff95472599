/**
 * An nftables ruleset as nft's scanner splits it (a quoted string runs to the next `"`, across
 * line breaks): statements (ended by a line break or `;`, a
 * backslash continuing the line) inside their blocks (`table ... {`, `chain ... {`). A statement's
 * structure is its keywords; strings (`"..."`), numbers, addresses and prefixes are values and
 * left out, and `#` starts a comment to the end of the line. So a value may change an address or
 * a comment's text, but not add a rule, a keyword or a block.
 */
import type { Structure } from "./types.js";

type Token = { kind: "word" | "value" | "string" | "open" | "close" | "end" | "comma"; text: string };

function tokenize(text: string): Token[] | { error: string } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\\" && text[i + 1] === "\n") i += 2;
    else if (c === "\n" || c === ";") {
      tokens.push({ kind: "end", text: c });
      i++;
    } else if (c === " " || c === "\t" || c === "\r")
      i++; // nft's scanner skips these; any other character is part of a token
    else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === '"') {
      const close = text.indexOf('"', i + 1); // nft's quoted strings may span lines
      if (close < 0) return { error: `unterminated string at offset ${i}` };
      tokens.push({ kind: "string", text: text.slice(i, close + 1) });
      i = close + 1;
    } else if (c === "{" || c === "}") {
      tokens.push({ kind: c === "{" ? "open" : "close", text: c });
      i++;
    } else if (c === ",") {
      tokens.push({ kind: "comma", text: c });
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[ \t\r\n;{}",#]/.test(text[j]!)) j++;
      const word = text.slice(i, j);
      tokens.push({ kind: /^[a-z][a-z_-]*$/.test(word) ? "word" : "value", text: word });
      i = j;
    }
  }
  return tokens;
}

/** The structure of a ruleset: one entry per statement, prefixed by its enclosing blocks. */
export function nftStructure(text: string): Structure {
  const tokens = tokenize(text);
  if ("error" in tokens) return tokens;
  const entries: string[] = [];
  const blocks: string[] = [];
  let statement: string[] = [];
  let setDepth = 0;
  const flush = () => {
    if (statement.length > 0) entries.push(`${blocks.join(" > ")} | ${statement.join(" ")}`);
    statement = [];
  };
  for (const t of tokens) {
    if (t.kind === "open") {
      // A brace after a table/chain/set header opens a block; elsewhere it is an anonymous set.
      if (setDepth === 0 && ["table", "chain", "set", "map"].includes(statement[0] ?? "")) {
        blocks.push(statement.join(" "));
        statement = [];
      } else {
        setDepth++;
        statement.push("{");
      }
    } else if (t.kind === "close") {
      if (setDepth > 0) {
        setDepth--;
        statement.push("}");
      } else {
        flush();
        if (blocks.length === 0) return { error: "unbalanced }" };
        blocks.pop();
      }
    } else if (t.kind === "end") {
      if (setDepth === 0) flush();
    } else statement.push(t.kind === "word" ? t.text : t.kind === "string" ? "S" : t.kind === "comma" ? "," : "V");
  }
  flush();
  if (blocks.length > 0 || setDepth > 0) return { error: "unclosed {" };
  return { entries, ordered: true };
}
