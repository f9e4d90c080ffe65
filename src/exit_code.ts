/**
 * The process exit codes of the `agent` executable: the CLI's commands return them, the
 * running agent exits with them (75 asks its service manager for a restart), and the service
 * definitions tell the service manager which ones mean "start it again" (service/systemd.ts).
 * Documented in the README (Exit codes).
 *
 * @module
 */

/** Exit codes of the executable (documented in the README). */
export const ExitCode = {
  /** Success (for `status`: healthy). */
  OK: 0,
  /** The command ran and failed (for `status`: degraded; for `flush`: reports remain). */
  FAILURE: 1,
  /** Usage error: unknown command or option, missing argument (for `status`: unhealthy). */
  USAGE: 2,
  /** The configuration is invalid or can't be read (for `status`: cannot tell). */
  CONFIG: 3,
  /** Another agent already runs on this data directory. */
  LOCKED: 4,
  /** The agent stopped itself so that its service manager restarts it (EX_TEMPFAIL). */
  RESTART: 75,
} as const;
