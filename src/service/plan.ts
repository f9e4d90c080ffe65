/**
 * What `agent service install` and `uninstall` do, as an ordered list of steps: folders to make,
 * files to write or remove, commands to run. `--dry-run` prints the list; otherwise it runs.
 *
 * @module
 */
import path from "#path";
import { ServiceError } from "./execute.ts";
import { launchdPlist } from "./launchd.ts";
import type { ServiceSpec } from "./spec.ts";
import { systemdUnit } from "./systemd.ts";
import { encodeUtf16le, taskXml } from "./windows_task.ts";

/** One thing install or uninstall does. */
export type Step =
  | { kind: "mkdir"; path: string }
  | { kind: "write"; path: string; text: string; bytes: Uint8Array; encoding: string }
  | { kind: "remove"; path: string }
  | {
    kind: "run";
    argv: string[];
    /** Why the command runs, for --dry-run and error messages. */
    why: string;
    /** A failure is expected in some states (e.g. stopping what isn't running) and ignored. */
    mayFail?: boolean;
    /** The command asks the user something (a password), so it gets the terminal. */
    interactive?: boolean;
  };

/** Facts about the installing process that some steps need. */
export interface PlanContext {
  /** The user id, for the launchd `gui/<uid>` domain of a user agent. */
  uid: number | null;
}

function systemctl(spec: ServiceSpec, ...args: string[]): string[] {
  return ["systemctl", ...(spec.scope === "user" ? ["--user"] : []), ...args];
}

function launchdDomain(spec: ServiceSpec, ctx: PlanContext): string {
  if (spec.scope === "system") return "system";
  if (ctx.uid === null) {
    throw new ServiceError("a launchd user agent needs your user id, and this OS has none");
  }
  return `gui/${ctx.uid}`;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** The steps that install (or reinstall) and start the service. */
export function installPlan(spec: ServiceSpec, ctx: PlanContext): Step[] {
  const unit = `${spec.name}.service`;
  switch (spec.platform) {
    case "linux": {
      const text = systemdUnit(spec);
      return [
        { kind: "mkdir", path: path.posix.dirname(spec.definitionFile) },
        { kind: "write", path: spec.definitionFile, text, bytes: utf8(text), encoding: "UTF-8" },
        { kind: "run", argv: systemctl(spec, "daemon-reload"), why: "load the new unit file" },
        { kind: "run", argv: systemctl(spec, "enable", unit), why: "start it at boot" },
        {
          kind: "run",
          argv: systemctl(spec, "restart", unit),
          why: "start it now; a running one restarts so the new unit applies",
        },
      ];
    }
    case "macos": {
      const text = launchdPlist(spec);
      const domain = launchdDomain(spec, ctx);
      return [
        { kind: "mkdir", path: spec.logDir! },
        { kind: "mkdir", path: path.posix.dirname(spec.definitionFile) },
        { kind: "write", path: spec.definitionFile, text, bytes: utf8(text), encoding: "UTF-8" },
        {
          kind: "run",
          argv: ["launchctl", "bootout", `${domain}/${spec.name}`],
          why: "unload an earlier version (fails harmlessly when none is loaded)",
          mayFail: true,
        },
        {
          kind: "run",
          argv: ["launchctl", "enable", `${domain}/${spec.name}`],
          why: "allow it to start",
        },
        {
          kind: "run",
          argv: ["launchctl", "bootstrap", domain, spec.definitionFile],
          why: "load it; RunAtLoad starts it now and at every boot",
        },
      ];
    }
    case "windows": {
      const text = taskXml(spec);
      const account = spec.runAs ? ["/RU", spec.runAs, "/RP", "*"] : [];
      return [
        {
          kind: "write",
          path: spec.definitionFile,
          text,
          bytes: encodeUtf16le(text),
          encoding: "UTF-16LE with BOM",
        },
        {
          kind: "run",
          argv: [
            "schtasks",
            "/Create",
            "/TN",
            spec.name,
            "/XML",
            spec.definitionFile,
            "/F",
            ...account,
          ],
          why: "register the task; its registration trigger starts it now, its boot trigger at " +
            "every boot" + (spec.runAs ? ` (asks for ${spec.runAs}'s password)` : ""),
          interactive: spec.runAs !== undefined,
        },
      ];
    }
  }
}

/** The steps that stop the service and remove it. */
export function uninstallPlan(spec: ServiceSpec, ctx: PlanContext): Step[] {
  switch (spec.platform) {
    case "linux":
      return [
        {
          kind: "run",
          argv: systemctl(spec, "disable", "--now", `${spec.name}.service`),
          why: "stop it and stop starting it at boot",
          mayFail: true,
        },
        { kind: "remove", path: spec.definitionFile },
        { kind: "run", argv: systemctl(spec, "daemon-reload"), why: "forget the unit" },
      ];
    case "macos":
      return [
        {
          kind: "run",
          argv: ["launchctl", "bootout", `${launchdDomain(spec, ctx)}/${spec.name}`],
          why: "stop and unload it",
          mayFail: true,
        },
        { kind: "remove", path: spec.definitionFile },
      ];
    case "windows":
      return [
        {
          kind: "run",
          argv: ["schtasks", "/End", "/TN", spec.name],
          why: "stop the running agent",
          mayFail: true,
        },
        {
          kind: "run",
          argv: ["schtasks", "/Delete", "/TN", spec.name, "/F"],
          why: "remove the task",
        },
        { kind: "remove", path: spec.definitionFile },
      ];
  }
}
