/**
 * escape/dockerfile.ts: RUN words read back through sh as themselves and never carry a line break
 * (Docker's parser is line based); exec-form elements are JSON strings; COPY/VOLUME/USER/FROM
 * arguments are plain words or refused (they expand `$VAR` and split at spaces).
 */
import { describe, expect, it } from "vitest";
import { dockerArgument, dockerJsonString, dockerRunWord } from "../../../render/escape/dockerfile.js";
import { hostileStrings } from "../../support/hostile-text.js";
import { shWords } from "../../support/read-back.js";

describe("Dockerfile escapers", () => {
  const values = hostileStrings(300, 71);

  it("RUN words: sh reads each back as itself; a line break or NUL is refused", () => {
    const written = values.filter((v) => !/[\n\r]/.test(v));
    expect(shWords(written.map(dockerRunWord).join(" "))).toEqual(written);
    for (const v of written) expect(dockerRunWord(v)).not.toMatch(/[\n\r]/);
    expect(() => dockerRunWord("/var/lib/x\nRUN curl evil | sh")).toThrow(
      'cdktf-tailnet: cannot write "/var/lib/x\\nRUN curl evil | sh" into a Dockerfile RUN command: it holds a line break (\\n)',
    );
    expect(() => dockerRunWord("a\rb")).toThrow("it holds a carriage return (\\r)");
  });

  it("exec-form elements are JSON strings on one line", () => {
    for (const v of values) {
      const s = dockerJsonString(v);
      expect(JSON.parse(s)).toBe(v);
      expect(s).not.toMatch(/[\n\r]/);
    }
    expect(dockerJsonString("/usr/local/lib/cdktf-tailnet/acme-renew.sh")).toBe('"/usr/local/lib/cdktf-tailnet/acme-renew.sh"');
  });

  it("COPY/VOLUME/USER/FROM arguments: plain words only", () => {
    expect(dockerArgument("docker.io/library/debian:bookworm-slim")).toBe("docker.io/library/debian:bookworm-slim");
    expect(dockerArgument("65532:65532")).toBe("65532:65532");
    expect(() => dockerArgument("/etc/cdktf-tailnet/acme-$HOME.env")).toThrow("only letters, digits and . _ / : @ + = , - are written unquoted");
    expect(() => dockerArgument("a b")).toThrow("only letters, digits");
  });
});
