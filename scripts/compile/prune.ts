/**
 * Pruning deno.json and deno.lock to the npm packages the agent imports at run time:
 * `deno compile` embeds every package of the lock, so without this test-only packages (a
 * browser driver, say) would ship in the binary.
 *
 * @module
 */
import path from "#path";

/** `npm:@scope/name@1.2.3/sub/path` → `npm:@scope/name@1.2.3` (the import map's and lock's key). */
export function npmPackageOf(specifier: string): string {
  const bare = specifier.replace(/^npm:\/?/, "");
  const parts = bare.split("/");
  return `npm:${parts.slice(0, bare.startsWith("@") ? 2 : 1).join("/")}`;
}

/** A package id of the lock (`name@version[_peers]`) → `name@version`. */
function baseId(id: string): string {
  const at = id.indexOf("@", 1);
  return at < 0 ? id : id.slice(0, at) + "@" + id.slice(at + 1).split("_")[0];
}

/** The package name of `name@version…` (scoped or not). */
function nameOf(id: string): string {
  const at = id.indexOf("@", 1);
  return at < 0 ? id : id.slice(0, at);
}

interface DenoLock {
  specifiers?: Record<string, string>;
  npm?: Record<string, { dependencies?: string[]; optionalDependencies?: string[] }>;
  workspace?: { dependencies?: string[] };
  [key: string]: unknown;
}

/** deno.json and deno.lock cut down to what the binary needs (see {@link pruneToRuntime}). */
export interface RuntimeConfig {
  denoJson: Record<string, unknown>;
  lock: DenoLock;
  /** npm packages (`name@version`) the binary embeds: the runtime imports and their deps. */
  packages: string[];
  /** Import map entries left out (`playwright-core -> npm:playwright-core@1.65.1`). */
  dropped: string[];
}

/**
 * `deno compile` embeds every npm package of the lock file, whoever imports it. This keeps only
 * the npm import map entries that runtime modules import (`used`, from
 * {@link runtimeLoadedFiles}) and, in the lock, those packages with their dependencies, so
 * test-only packages (a browser driver, say) stay out of the binary. `deno compile --frozen`
 * rejects the result if the two disagree.
 */
export function pruneToRuntime(
  denoJson: Record<string, unknown>,
  lock: DenoLock,
  used: string[],
): RuntimeConfig {
  const keep = new Set(used.map(npmPackageOf));
  const dropped: string[] = [];
  const imports: Record<string, string> = {};
  for (const [key, value] of Object.entries((denoJson.imports ?? {}) as Record<string, string>)) {
    if (value.startsWith("npm:") && !keep.has(npmPackageOf(value))) {
      dropped.push(`${key} -> ${value}`);
    } else imports[key] = value;
  }
  const needed = (spec: string) => !spec.startsWith("npm:") || keep.has(npmPackageOf(spec));
  const specifiers = Object.fromEntries(
    Object.entries(lock.specifiers ?? {}).filter(([spec]) => needed(spec)),
  );
  const all = lock.npm ?? {};
  const ids = Object.keys(all);
  // A dependency is named by its id when the lock holds several versions, else by its name.
  const resolve = (dep: string) =>
    dep in all ? [dep] : ids.filter((id) => nameOf(id) === nameOf(dep));
  const npm: DenoLock["npm"] = {};
  const queue = Object.entries(specifiers).filter(([spec]) => spec.startsWith("npm:"))
    .map(([spec, version]) => `${nameOf(npmPackageOf(spec).slice(4))}@${version}`);
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (id in npm || !(id in all)) continue;
    npm[id] = all[id];
    for (const dep of [...all[id].dependencies ?? [], ...all[id].optionalDependencies ?? []]) {
      queue.push(...resolve(dep));
    }
  }
  const sorted = Object.fromEntries(ids.filter((id) => id in npm).map((id) => [id, npm[id]]));
  const out: DenoLock = { ...lock, specifiers, npm: sorted };
  if (lock.workspace) {
    out.workspace = {
      ...lock.workspace,
      dependencies: (lock.workspace.dependencies ?? []).filter(needed),
    };
  }
  return {
    denoJson: { ...denoJson, imports },
    lock: out,
    packages: [...new Set(Object.keys(sorted).map(baseId))].sort(),
    dropped,
  };
}

/**
 * Rewrites the staged deno.json and deno.lock to hold only the npm packages in `used` (and
 * their dependencies), so the binary embeds nothing that only tests or scripts import.
 */
export async function writeRuntimeConfig(stage: string, used: string[]): Promise<RuntimeConfig> {
  const jsonFile = path.join(stage, "deno.json");
  const lockFile = path.join(stage, "deno.lock");
  const denoJson = JSON.parse(await Deno.readTextFile(jsonFile));
  const lock = JSON.parse(await Deno.readTextFile(lockFile));
  const runtime = pruneToRuntime(denoJson, lock, used);
  await Deno.writeTextFile(jsonFile, JSON.stringify(runtime.denoJson, null, 2) + "\n");
  await Deno.writeTextFile(lockFile, JSON.stringify(runtime.lock, null, 2) + "\n");
  return runtime;
}
