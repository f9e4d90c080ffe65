/**
 * Pointers into `docs/` that lead nowhere: `docs/<file>.md#<anchor>` in any text, and in Markdown
 * the relative links `](<file>.md#<anchor>)` and `](#<anchor>)`. Used by scripts/check_house.ts.
 *
 * @module
 */
import path from "#path";

/**
 * The anchors of a Markdown text's headings, as GitHub makes them: lower case, punctuation
 * other than `-` and `_` dropped, each space a `-`; a repeated heading gets `-1`, `-2`, ….
 * Headings inside code fences don't count.
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m === null) continue;
    const slug = m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = counts.get(slug) ?? 0;
    counts.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

// `docs/<file>.md#<anchor>` anywhere; in Markdown also `](<file>.md#<anchor>)` and `](#<anchor>)`,
// relative to the Markdown file.
const DOCS_POINTER = /(?<![\w./-])docs\/[\w./-]*\w\.md(?:#[\w-]+)?/g;
const MD_LINK = /\]\((?!https?:|mailto:)([^)\s]*?\.md)?(#[\w-]+)?\)/g;

/** Pointers into docs/ (and Markdown links between our files) whose file or heading is missing. */
export async function deadPointers(
  file: string,
  text: string,
  anchors: (file: string) => Promise<Set<string> | null>,
): Promise<Array<[number, string]>> {
  const found: Array<[number, string]> = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const targets: Array<[string, string | undefined, string]> = [];
    for (const m of lines[i].matchAll(DOCS_POINTER)) {
      const [target, anchor] = m[0].split("#");
      targets.push([path.posix.normalize(target), anchor, m[0]]);
    }
    if (file.endsWith(".md")) {
      for (const m of lines[i].matchAll(MD_LINK)) {
        if (m[1] === undefined && m[2] === undefined) continue;
        const target = m[1] === undefined
          ? file
          : path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
        if (target.startsWith("../")) continue; // outside: the reference check's business
        targets.push([target, m[2]?.slice(1), m[0]]);
      }
    }
    for (const [target, anchor, as] of targets) {
      const known = await anchors(target);
      if (known === null) {
        found.push([i + 1, `points to ${as}, but ${target} does not exist`]);
      } else if (anchor !== undefined && !known.has(anchor)) {
        found.push([i + 1, `points to ${as}, but ${target} has no heading #${anchor}`]);
      }
    }
  }
  return found;
}
