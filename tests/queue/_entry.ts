/**
 * A queue entry for tests: an id, a small JSON body, the rest filled in.
 *
 * @module
 */
import type { NewEntry } from "../../src/queue/entry.ts";

/** A new entry with id `id` and body `body`. */
export function entry(id: string, body = `{"id":"${id}"}`): NewEntry {
  return {
    id,
    correlationId: "c-" + id,
    source: "/drop/" + id + ".json",
    converter: "test",
    sourceSha256: "00",
    unit: 0,
    units: 1,
    firstSeen: new Date().toISOString(),
    sn: "SN-" + id,
    pn: "PN",
    result: "P",
    body: new TextEncoder().encode(body),
  };
}
