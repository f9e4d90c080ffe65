/**
 * XML text escaping for the launchd plist and the Task Scheduler task.
 *
 * @module
 */
import { ServiceSpecError } from "./spec.ts";

/**
 * Escapes text for an XML element or attribute value. Throws when the text holds a character
 * XML 1.0 can't carry at all (a control character other than tab, LF and CR).
 */
export function escapeXml(text: string): string {
  // deno-lint-ignore no-control-regex
  const bad = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.exec(text);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, "0");
    throw new ServiceSpecError(
      `"${text}" holds the control character U+${code}, which XML can't carry: ` +
        "remove it from the path or name",
    );
  }
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}
