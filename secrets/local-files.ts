/**
 * The binaries a VM host gets from the deploying machine (`vm.headscale.localFile`,
 * `vm.derper: { source: "local", localFile }`): each must be a file there whose SHA-256 is the one
 * the spec pins. Checked before anything is written or deployed, each problem at its field.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { ResolvedTailnet, ValidationIssue } from "../model/index.js";

/** Every problem with the local files VM hosts install from (reads only those files). */
export function checkLocalFiles(tailnet: ResolvedTailnet): ValidationIssue[] {
  return tailnet.hosts.flatMap((host) =>
    (host.vm?.installs ?? []).flatMap((install): ValidationIssue[] => {
      if (!("localFile" in install) || install.localFile === undefined) return [];
      const path = `${host.specPath}.vm.${install.program}.localFile`;
      const file = resolve(install.localFile);
      let isFile: boolean;
      try {
        isFile = statSync(file).isFile();
      } catch {
        return [
          {
            path,
            message: `${file} does not exist on this machine (host ${host.name}'s ${install.program} is uploaded from it)`,
            fix: `put the ${install.program} binary there, or correct the path`,
          },
        ];
      }
      if (!isFile) return [{ path, message: `${file} is not a file`, fix: `name the ${install.program} binary itself` }];
      const actual = createHash("sha256").update(readFileSync(file)).digest("hex");
      if (actual === install.sha256) return [];
      return [
        {
          path,
          message: `${file} has SHA-256 ${actual}, but the spec pins ${install.sha256}`,
          fix: `set ${host.specPath}.vm.${install.program}.sha256 to the file's SHA-256 if you trust this file, or put the file the spec pins there`,
        },
      ];
    }),
  );
}
