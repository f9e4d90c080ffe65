/**
 * The error of installing, removing or running a service: its message names the file or
 * command, the cause and what to do. Its own file because both the plan (which refuses what
 * can't be installed) and the executor (which runs the steps) throw it.
 *
 * @module
 */

/** A step that failed; the message names the file or command, the cause and what to do. */
export class ServiceError extends Error {
  /** @param message what failed and what to do */
  constructor(message: string) {
    super(message);
    this.name = "ServiceError";
  }
}
