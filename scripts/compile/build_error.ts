/**
 * The error of the release build: a build that can't be done or whose result is wrong. Its
 * message says what failed and what to do; `deno task compile` prints it without a stack.
 *
 * @module
 */

/** A build that can't be done or whose result is wrong; the message says what to do. */
export class BuildError extends Error {
  /** @param message what failed and what to do */
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}
