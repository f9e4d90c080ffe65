/**
 * What a drop-folder source (./source.ts) is given, what it hands on and what it tells status.
 *
 * @module
 */
import type { FileIdentity, SourcePlace } from "./source_file.ts";

/**
 * A file that passed the gate: complete and readable. Its identity is the version the gate
 * approved (the file itself, never what a link points to unless links are followed): the
 * reader and the post-action check that the path still names it.
 */
export interface ReadyFile extends FileIdentity {
  path: string;
  rel: string;
  correlationId: string;
  firstSeen: Date;
  /** Its pinned watch folder and path in it: every later look checks the folders on the way. */
  where: SourcePlace;
}

/** What a source needs to know about one drop folder. */
export interface SourceOptions {
  name: string;
  root: string;
  pattern: string;
  recursive: boolean;
  ignore: readonly string[];
  followSymlinks: boolean;
  /** Folders under root the agent writes to (Done, Error): never scanned. */
  exclude: readonly string[];
  rescanMs: number;
  stableMs: number;
  emptyFileMs: number;
  /** Larger files are not offered but go to `onTooLarge` (checked once they are stable). */
  maxFileBytes?: () => number;
  /** A complete file. The source won't offer it again until `release(path)`. */
  onReady: (file: ReadyFile) => void;
  /** A file that stayed empty. */
  onEmpty: (file: ReadyFile) => void;
  /** A stable file larger than `maxFileBytes`. */
  onTooLarge?: (file: ReadyFile) => void;
  /** Whether files may be taken now (false while intake is paused). */
  accepting: () => boolean;
  /** Whether a file at this path with this size and mtime is already done (kept files). */
  isDone?: (path: string, size: number, mtimeMs: number) => boolean;
}

/** Numbers for status. */
export interface SourceStatus {
  name: string;
  folder: string;
  missing: boolean;
  /** Whether watch events come in (false: rescans only, e.g. while the folder is missing). */
  watching: boolean;
  /** Files seen and waiting for the gate. */
  waiting: number;
  /** Files handed on and not yet released. */
  taken: number;
  seen: number;
  lastScanAt: string | null;
  lastScanError: string | null;
}
