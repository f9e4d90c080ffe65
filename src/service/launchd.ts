/**
 * The launchd property list for the agent (macOS): a LaunchDaemon (system) or LaunchAgent (user).
 *
 * KeepAlive restarts it whenever it exits unsuccessfully (including exit code 75, the agent's
 * "restart me" code), RunAtLoad starts it at boot/login, ExitTimeOut gives it time to drain.
 * A LaunchDaemon runs as the dedicated account (UserName), below normal priority (Nice, and
 * ProcessType Background, which also throttles its disk I/O when the station is busy).
 *
 * @module
 */
import { type ServiceSpec, STOP_TIMEOUT_SECONDS } from "./spec.ts";
import { escapeXml } from "./xml.ts";

const str = (s: string) => `<string>${escapeXml(s)}</string>`;
const key = (k: string) => `<key>${escapeXml(k)}</key>`;

/** The paths launchd writes the agent's stdout and stderr to. */
export function launchdLogFiles(spec: ServiceSpec): { out: string; err: string } {
  if (!spec.logDir) throw new Error(`service ${spec.name} has no log folder (not macOS?)`);
  return { out: `${spec.logDir}/agent.out.log`, err: `${spec.logDir}/agent.err.log` };
}

/** The text of the `<name>.plist` file. */
export function launchdPlist(spec: ServiceSpec): string {
  const logs = launchdLogFiles(spec);
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" ` +
    `"http://www.apple.com/DTDs/PropertyList-1.0.dtd">`,
    `<!-- Written by \`agent service install\`. Reinstall rather than edit. -->`,
    `<plist version="1.0">`,
    `<dict>`,
    `  ${key("Label")}${str(spec.name)}`,
    `  ${key("ProgramArguments")}`,
    `  <array>`,
    ...[spec.program, ...spec.args].map((a) => `    ${str(a)}`),
    `  </array>`,
    `  ${key("WorkingDirectory")}${str(spec.workingDirectory)}`,
    ...(spec.runAs ? [`  ${key("UserName")}${str(spec.runAs)}`] : []),
    ...(Object.keys(spec.env).length > 0
      ? [
        `  ${key("EnvironmentVariables")}`,
        `  <dict>`,
        ...Object.entries(spec.env).map(([k, v]) => `    ${key(k)}${str(v)}`),
        `  </dict>`,
      ]
      : []),
    `  ${key("RunAtLoad")}<true/>`,
    `  ${key("KeepAlive")}`,
    `  <dict>`,
    `    ${key("SuccessfulExit")}<false/>`,
    `  </dict>`,
    `  ${key("ThrottleInterval")}<integer>10</integer>`,
    `  ${key("ExitTimeOut")}<integer>${STOP_TIMEOUT_SECONDS}</integer>`,
    `  ${key("ProcessType")}${str("Background")}`,
    `  ${key("Nice")}<integer>${spec.nice}</integer>`,
    `  ${key("StandardOutPath")}${str(logs.out)}`,
    `  ${key("StandardErrorPath")}${str(logs.err)}`,
    `</dict>`,
    `</plist>`,
    "",
  ];
  return lines.join("\n");
}
