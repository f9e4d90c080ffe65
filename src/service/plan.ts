/**
 * What `agent service install` and `uninstall` do, as an ordered list of steps: folders to make,
 * files to write or remove, commands to run. `--dry-run` prints the list; otherwise it runs.
 *
 * @module
 */
import path from "#path";
import { ServiceError } from "./error.ts";
import { launchdPlist } from "./launchd.ts";
import { pathFor, type ServiceSpec } from "./spec.ts";
import { systemdUnit } from "./systemd.ts";
import { encodeUtf16le, taskXml, windowsAccount } from "./windows_task.ts";

/** One thing install or uninstall does. */
export type Step =
  | { kind: "mkdir"; path: string }
  | { kind: "write"; path: string; text: string; bytes: Uint8Array; encoding: string }
  | { kind: "remove"; path: string }
  | {
    /** Create the service account unless `check` (exit 0) finds it. */
    kind: "account";
    name: string;
    check: string[];
    create: string[];
  }
  | {
    kind: "run";
    argv: string[];
    /** Why the command runs, for --dry-run and error messages. */
    why: string;
    /** A failure is expected in some states (e.g. stopping what isn't running) and ignored. */
    mayFail?: boolean;
    /** A failure is reported with this warning (what to do) and the install goes on. */
    warning?: string;
    /** Run only when this path exists (a folder the agent creates later needs nothing now). */
    ifExists?: string;
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

/** macOS: a hidden role account (name starting with "_", uid 300-400, the first one free). */
function macosAccountScript(name: string): string {
  return "uid=$(dscl . -list /Users UniqueID | awk '{print $2}' | sort -n | " +
    "awk 'BEGIN{u=300} $1==u{u++} END{print u}') && [ \"$uid\" -le 400 ] && " +
    `sysadminctl -addUser ${name} -fullName 'WATS station agent' -UID "$uid" -roleAccount ` +
    "-shell /usr/bin/false -home /var/empty";
}

/**
 * The steps that give the service account its folders: the data folder and the agent's own
 * Done/Error folders are made (unless inside a drop folder, which is the tester's) and handed
 * over recursively, which also moves a data folder an earlier root install left; drop folders
 * are only checked. Linux and macOS; the service must be stopped first (a running old agent
 * would go on creating files the account can't use).
 */
function handOver(spec: ServiceSpec): Step[] {
  const account = spec.runAs;
  if (!account) return [];
  const p = pathFor(spec.platform);
  const drops = spec.folders.filter((f) => f.role === "drop").map((f) => f.path);
  const inDrop = (f: string) => drops.some((d) => f === d || f.startsWith(d + p.sep));
  const own = spec.folders.filter((f) => f.own);
  const owner = spec.createAccount && spec.platform === "linux" ? `${account}:${account}` : account;
  const steps: Step[] = [];
  for (const f of own.filter((f) => !inDrop(f.path))) steps.push({ kind: "mkdir", path: f.path });
  for (const f of own) {
    steps.push({
      kind: "run",
      argv: ["chown", "-R", owner, f.path],
      why: `hand ${f.key} over to ${account}`,
      ifExists: f.path,
    });
  }
  if (spec.logDir) {
    steps.push({
      kind: "run",
      argv: ["chown", "-R", account, spec.logDir],
      why: `let ${account} write its console log`,
    });
  }
  // The config holds the token: readable by the account, writable only by root.
  if (spec.platform === "linux" && spec.createAccount) {
    steps.push(
      {
        kind: "run",
        argv: ["chown", `root:${account}`, spec.configFile],
        why: `let ${account} read the config`,
      },
      {
        kind: "run",
        argv: ["chmod", "0640", spec.configFile],
        why: "only root may change it; root and the account may read it",
      },
    );
  } else if (spec.platform === "macos") {
    steps.push({
      kind: "run",
      argv: ["chmod", "+a", `${account} allow read`, spec.configFile],
      why: `let ${account} read the config`,
    });
  }
  // A drop folder root made (`sudo agent init` does) is nobody's in particular: the account
  // gets it, the folder only (its files are the tester's). One an account owns stays that way.
  for (const f of spec.folders.filter((f) => f.role === "drop")) {
    steps.push({
      kind: "run",
      argv: [
        "find",
        f.path,
        "-maxdepth",
        "0",
        "-user",
        "root",
        "-exec",
        "chown",
        account,
        "{}",
        "+",
      ],
      why: `give ${f.key} to ${account} if root owns it (one the test software's account ` +
        "owns is left as it is)",
      ifExists: f.path,
    });
  }
  const asAccount = spec.platform === "linux"
    ? ["runuser", "-u", account, "--"]
    : ["sudo", "-u", account];
  for (const f of spec.folders.filter((f) => f.role === "drop")) {
    steps.push({
      kind: "run",
      argv: [...asAccount, "test", "-r", f.path, "-a", "-w", f.path, "-a", "-x", f.path],
      why: `check that ${account} may move files out of ${f.key}`,
      ifExists: f.path,
      warning: `${account} may not write the drop folder ${f.path}: grant it, e.g. ` +
        (spec.platform === "linux"
          ? `\`sudo setfacl -m u:${account}:rwx,d:u:${account}:rwx '${f.path}'\``
          : `\`sudo chmod +a "${account} allow list,add_file,delete_child,search" '${f.path}'\``) +
        `, or add ${account} to the folder's group and make it group-writable; the agent ` +
        "refuses to start until it may",
    });
  }
  return steps;
}

/** Windows: grant the account Modify on its folders and read on the config (icacls). */
function grants(spec: ServiceSpec): Step[] {
  const account = windowsAccount(spec);
  if (spec.runAs === undefined) return [];
  const who = account.builtin ? `*${account.id}` : account.id;
  const p = pathFor("windows");
  const drops = spec.folders.filter((f) => f.role === "drop").map((f) => f.path.toLowerCase());
  const inDrop = (f: string) =>
    drops.some((d) => f.toLowerCase() === d || f.toLowerCase().startsWith(d + p.sep));
  const steps: Step[] = spec.folders.filter((f) => f.own && !inDrop(f.path)).map((f) => ({
    kind: "mkdir",
    path: f.path,
  }));
  for (const f of spec.folders) {
    steps.push({
      kind: "run",
      argv: ["icacls", f.path, "/grant", `${who}:(OI)(CI)M`, ...(f.own ? ["/T"] : []), "/Q"],
      why: `let ${spec.runAs} change ${f.key}` + (f.own ? " and everything already in it" : ""),
      ifExists: f.path,
    });
  }
  steps.push({
    kind: "run",
    argv: ["icacls", spec.configFile, "/grant", `${who}:R`, "/Q"],
    why: `let ${spec.runAs} read the config`,
  });
  return steps;
}

/** The steps that install (or reinstall) and start the service. */
export function installPlan(spec: ServiceSpec, ctx: PlanContext): Step[] {
  const unit = `${spec.name}.service`;
  const account: Step[] = spec.createAccount && spec.runAs
    ? [
      spec.platform === "linux"
        ? {
          kind: "account",
          name: spec.runAs,
          check: ["id", "-u", spec.runAs],
          create: [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            spec.dataDir,
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "WATS station agent",
            spec.runAs,
          ],
        }
        : {
          kind: "account",
          name: spec.runAs,
          check: ["dscl", ".", "-read", `/Users/${spec.runAs}`],
          create: ["/bin/sh", "-c", macosAccountScript(spec.runAs)],
        },
    ]
    : [];
  switch (spec.platform) {
    case "linux": {
      const text = systemdUnit(spec);
      return [
        ...account,
        ...(spec.runAs
          ? [{
            kind: "run" as const,
            argv: systemctl(spec, "stop", unit),
            why: "stop a running agent before its folders change owner (fails harmlessly " +
              "when none runs)",
            mayFail: true,
          }]
          : []),
        ...handOver(spec),
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
        ...account,
        { kind: "mkdir", path: spec.logDir! },
        {
          kind: "run",
          argv: ["launchctl", "bootout", `${domain}/${spec.name}`],
          why: "unload an earlier version (fails harmlessly when none is loaded)",
          mayFail: true,
        },
        ...handOver(spec),
        { kind: "mkdir", path: path.posix.dirname(spec.definitionFile) },
        { kind: "write", path: spec.definitionFile, text, bytes: utf8(text), encoding: "UTF-8" },
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
      const password = spec.runAs !== undefined && !windowsAccount(spec).builtin;
      const logon = password ? ["/RU", spec.runAs!, "/RP", "*"] : [];
      return [
        {
          kind: "run",
          argv: ["schtasks", "/End", "/TN", spec.name],
          why: "stop a running agent so the new task starts it as its account (fails " +
            "harmlessly when none runs)",
          mayFail: true,
        },
        ...grants(spec),
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
            ...logon,
          ],
          why: "register the task; its registration trigger starts it now, its boot trigger at " +
            "every boot" + (password ? ` (asks for ${spec.runAs}'s password)` : ""),
          interactive: password,
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
