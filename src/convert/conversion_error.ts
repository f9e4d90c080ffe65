/**
 * The error of a file that can't be converted: what is wrong with it, where, and what a
 * person can do. It imports nothing, so the converter contract, the WSJF model and the text
 * and time readers can all throw it without importing each other.
 *
 * @module
 */

/**
 * A file that can't be converted. `message` says what is wrong and where (line, field);
 * `hint` says what a person can do about it. Both end up in `<name>.error.txt`.
 */
export class ConversionError extends Error {
  /** What a person can do about it. */
  readonly hint: string;

  /** @param message what is wrong, and where; @param hint what to do about it */
  constructor(
    message: string,
    hint = "Check that the file is complete and in the configured format.",
  ) {
    super(message);
    this.name = "ConversionError";
    this.hint = hint;
  }
}
