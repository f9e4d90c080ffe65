/**
 * Where the shared (public, not ours) fixtures are: `$AGENT_FIXTURES`, else `../shared/fixtures`
 * beside the project. Tests that need them are skipped, with a message, when they are absent.
 *
 * @module
 */
import path from "#path";

const projectRoot = path.resolve(import.meta.dirname!, "..");

/** The shared fixtures folder, or null when it is not on this machine. */
export const sharedFixturesDir: string | null = (() => {
  const dir = Deno.env.get("AGENT_FIXTURES") ??
    path.resolve(projectRoot, "..", "shared", "fixtures");
  // Present means the two trees the tests read are there: an empty or unrelated folder (a
  // mistyped AGENT_FIXTURES) counts as absent, so the tests that need it skip instead of failing.
  try {
    return ["stations", "wats"].every((d) => Deno.statSync(path.join(dir, d)).isDirectory)
      ? dir
      : null;
  } catch {
    return null;
  }
})();

if (sharedFixturesDir === null) {
  console.warn(
    "shared fixtures not found (set AGENT_FIXTURES or put them at ../shared/fixtures): " +
      "tests on real station files are skipped",
  );
}

/** The absolute path of a shared fixture, or null when the shared fixtures are absent. */
export function sharedFixture(...parts: string[]): string | null {
  return sharedFixturesDir === null ? null : path.join(sharedFixturesDir, ...parts);
}

/** Lists the files of one shared fixture folder (empty when the fixtures are absent). */
export function sharedFixtureFiles(folder: string): string[] {
  if (sharedFixturesDir === null) return [];
  const dir = path.join(sharedFixturesDir, folder);
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => path.join(dir, e.name))
    .sort();
}

/** The project's own small fixtures (written by us, committed): tests/fixtures/<parts>. */
export function ownFixture(...parts: string[]): string {
  return path.join(projectRoot, "tests", "fixtures", ...parts);
}

/** Deno.test options that skip a test, with a reason, when the shared fixtures are absent. */
export const needsSharedFixtures = { ignore: sharedFixturesDir === null };
