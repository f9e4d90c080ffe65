/**
 * `<dataDir>/agent.json.last-good`: a copy of the last config file that was valid. The agent
 * writes it at its start and after each accepted edit; a rejected edit's message points here.
 *
 * @module
 */
import path from "#path";
import { PRIVATE_FILE } from "../private.ts";
import { replaceDurably } from "../queue/fs_ops.ts";

/** The last good copy's path. */
export function lastGoodFile(dataDir: string): string {
  return path.join(dataDir, "agent.json.last-good");
}

/**
 * Keeps `text` as the last good copy: durably (the reload error points a person to it after a
 * crash or power cut too), and for this user only (it holds the token).
 */
export async function saveLastGood(dataDir: string, text: string): Promise<void> {
  await replaceDurably(lastGoodFile(dataDir), text, { mode: PRIVATE_FILE });
}
