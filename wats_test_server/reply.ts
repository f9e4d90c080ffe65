/**
 * Answers as plain values, so route handlers stay free of node:http details.
 *
 * @module
 */

/** One HTTP answer. `drop` means: close the socket instead of answering. */
export interface Reply {
  status: number;
  /** JSON-serialised unless `raw` is set. */
  body?: unknown;
  /** A body sent as-is (with `contentType`). */
  raw?: string;
  /** Bytes sent as-is (with `contentType`), e.g. a compressed body with its `Content-Encoding`. */
  bytes?: Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  /** The `Message` of an error answer, for the request log. */
  message?: string;
  /** Close the connection without an answer (the "dropped after store" fault). */
  drop?: boolean;
}

/** A JSON answer. */
export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, body, headers };
}

/** An ASP.NET-style error answer: `{"Message": "..."}`. */
export function message(status: number, text: string, headers?: Record<string, string>): Reply {
  return { status, body: { Message: text }, headers, message: text };
}
