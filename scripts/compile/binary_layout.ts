/**
 * The layout of a `deno compile` binary, read back from it: the embedded file table and the
 * compile metadata (Deno 2.x: length-prefixed JSON). The build uses it to check that each
 * runtime-loaded file is embedded, with its bytes, and which npm packages went in.
 *
 * @module
 */
import path from "#path";
import { Buffer } from "node:buffer";
import { BuildError } from "./build_error.ts";
import type { RuntimeFile } from "./runtime_files.ts";

/** The npm packages (`name@version`) embedded in a binary, from its file table. */
export function embeddedPackages(files: string[]): string[] {
  const found = new Set<string>();
  for (const f of files) {
    const m = /^\.deno_compile_node_modules\/[^/]+\/((?:@[^/]+\/)?[^/@]+)\/([^/]+)\//.exec(f);
    if (m) found.add(`${m[1]}@${m[2]}`);
  }
  return [...found].sort();
}

/** What `deno compile` wrote into a binary, read back from it. */
export interface Embedded {
  /** Every embedded file, relative to the embedded root, "/"-separated. */
  files: string[];
  /** The compile metadata (permissions, app_version, entrypoint_key, …). */
  metadata: Record<string, unknown>;
}

/** Finds a length-prefixed JSON value (8-byte little-endian length before it) in a binary. */
function findPrefixedJson(bin: Buffer, starts: string[]): unknown {
  for (const start of starts) {
    const needle = Buffer.from(start);
    for (let at = bin.indexOf(needle); at >= 8; at = bin.indexOf(needle, at + 1)) {
      const len = Number(bin.readBigUInt64LE(at - 8));
      if (len < needle.length || at + len > bin.length) continue;
      try {
        return JSON.parse(bin.subarray(at, at + len).toString("utf8"));
      } catch {
        // Not the table itself (the same bytes inside other data): keep looking.
      }
    }
  }
  return undefined;
}

type VfsEntry = Record<string, { n: string; e?: VfsEntry[] }>;

/**
 * Reads the embedded file table and the metadata from a `deno compile` binary (Deno 2.x layout:
 * length-prefixed JSON). Throws when they can't be found, e.g. after a Deno upgrade changed it.
 */
export function readEmbedded(binary: Uint8Array): Embedded {
  const bin = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const tree = findPrefixedJson(bin, ['[{"File":{"n":', '[{"Dir":{"n":', '[{"Symlink":{"n":']);
  const metadata = findPrefixedJson(bin, ['{"argv":']);
  if (!Array.isArray(tree) || typeof metadata !== "object" || metadata === null) {
    throw new BuildError(
      "could not find the embedded file table and metadata in the binary: the layout of " +
        `deno compile output changed (Deno ${Deno.version.deno}); update readEmbedded in ` +
        "scripts/compile/binary_layout.ts",
    );
  }
  const files: string[] = [];
  const visit = (entries: VfsEntry[], prefix: string) => {
    for (const entry of entries) {
      const [kind, value] = Object.entries(entry)[0];
      if (kind === "Dir") visit(value.e ?? [], `${prefix}${value.n}/`);
      else files.push(`${prefix}${value.n}`);
    }
  };
  visit(tree as VfsEntry[], "");
  return { files: files.sort(), metadata: metadata as Record<string, unknown> };
}

/**
 * Checks a built binary: every runtime-loaded file of `sourceRoot` is in its file table and its
 * bytes are in the binary. Returns what is missing, one line each (empty = all good).
 */
export async function missingFromBinary(
  binary: Uint8Array,
  sourceRoot: string,
  required: RuntimeFile[],
): Promise<string[]> {
  const embedded = new Set(readEmbedded(binary).files);
  const bin = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const missing: string[] = [];
  for (const { file, reason } of required) {
    if (!embedded.has(file)) {
      missing.push(`${file} (${reason}) is not embedded`);
      continue;
    }
    const bytes = await Deno.readFile(path.join(sourceRoot, file));
    if (bytes.length > 0 && bin.indexOf(bytes) < 0) {
      missing.push(`${file} (${reason}) is listed but its content is not in the binary`);
    }
  }
  return missing;
}
