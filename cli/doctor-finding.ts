/** What `cdktf-tailnet doctor` reports, one finding per check (its own module: every check module returns them). */

/** One finding. */
export interface DoctorFinding {
  /** What was checked, e.g. `dns`, `headscale /health`, `derp tls`, `stun`. */
  readonly check: string;
  /** Where: a host name, node or URL. */
  readonly target: string;
  readonly ok: boolean;
  /** What was seen. */
  readonly detail: string;
  /** How to fix it (empty when ok). */
  readonly fix: string;
}
