/**
 * The Task Scheduler task for the agent (Windows), for `schtasks /Create /XML`.
 *
 * A compiled Deno binary can't answer the service control manager (it would be killed with
 * error 1053), so the default on Windows is a task: started at boot as NETWORK SERVICE (or a
 * named account; SYSTEM only when asked for), below normal priority, no execution time limit,
 * one instance. Task Scheduler's RestartOnFailure only covers
 * a task that fails to *start*, not a process that exits with an error (MS-TSCH 2.5.4.2), so
 * both triggers also repeat every 5 minutes: when the agent has exited (e.g. with code 75, "restart
 * me") the next repetition starts it again, and while it runs the repetition is ignored.
 * Ending the task is TerminateProcess, and a task has no stop action to run a command first: the
 * graceful stop is `agent stop` (POST /stop), run before the task is ended (docs/service.md).
 *
 * @module
 */
import { taskPriority } from "./priority.ts";
import { DEFAULT_ACCOUNT, type ServiceSpec, ServiceSpecError } from "./spec.ts";
import { escapeXml } from "./xml.ts";

/** Well-known SIDs: the same in every Windows language. */
const SID = { system: "S-1-5-18", networkService: "S-1-5-20" };

/** The account as icacls and the task's UserId take it: a SID for the built-in ones. */
export function windowsAccount(spec: ServiceSpec): { id: string; builtin: boolean } {
  if (spec.runAs === undefined) return { id: SID.system, builtin: true };
  if (spec.runAs === DEFAULT_ACCOUNT.windows) return { id: SID.networkService, builtin: true };
  return { id: spec.runAs, builtin: false };
}

/** How often the triggers try to start the agent again when it is not running. */
export const REPEAT_INTERVAL = "PT5M";

/**
 * Quotes one argument the way Windows programs (CommandLineToArgvW, Rust's std) split them:
 * quotes around anything with spaces or quotes, backslashes doubled only before a quote.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      backslashes++;
      continue;
    }
    out += ch === '"' ? "\\".repeat(backslashes * 2 + 1) + '"' : "\\".repeat(backslashes) + ch;
    backslashes = 0;
  }
  return out + "\\".repeat(backslashes * 2) + '"';
}

/** Joins arguments into one Windows command line. */
export function windowsCommandLine(args: string[]): string {
  return args.map(quoteWindowsArg).join(" ");
}

function noPercent(text: string, what: string): string {
  // Task Scheduler expands %VARIABLE% in Command and Arguments; there is no escape for it.
  if (text.includes("%")) {
    throw new ServiceSpecError(
      `${what} "${text}" holds "%", which Task Scheduler would read as an environment ` +
        "variable: use a path without %",
    );
  }
  return text;
}

/** The task XML text (write it with {@link encodeUtf16le}). */
export function taskXml(spec: ServiceSpec): string {
  if (Object.keys(spec.env).length > 0) {
    throw new ServiceSpecError(
      `a Task Scheduler task can't set environment variables (${Object.keys(spec.env)}): ` +
        "set them for the account instead",
    );
  }
  const x = escapeXml;
  const account = windowsAccount(spec);
  const principal = account.id === SID.system
    ? [`      <UserId>${SID.system}</UserId>`, `      <RunLevel>HighestAvailable</RunLevel>`]
    : [
      `      <UserId>${x(account.id)}</UserId>`,
      `      <LogonType>${account.builtin ? "ServiceAccount" : "Password"}</LogonType>`,
      `      <RunLevel>LeastPrivilege</RunLevel>`,
    ];
  const repetition = [
    `      <Repetition>`,
    `        <Interval>${REPEAT_INTERVAL}</Interval>`,
    `        <StopAtDurationEnd>false</StopAtDurationEnd>`,
    `      </Repetition>`,
  ];
  const command = noPercent(spec.program, "the program path");
  const args = windowsCommandLine(spec.args.map((a) => noPercent(a, "the argument")));
  const lines = [
    `<?xml version="1.0" encoding="UTF-16"?>`,
    `<!-- Written by \`agent service install\`. Reinstall rather than edit. -->`,
    `<Task version="1.4" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">`,
    `  <RegistrationInfo>`,
    `    <Description>${x(spec.description)}</Description>`,
    `    <URI>\\${x(spec.name)}</URI>`,
    `  </RegistrationInfo>`,
    `  <Triggers>`,
    `    <BootTrigger>`,
    `      <Enabled>true</Enabled>`,
    ...repetition,
    `      <Delay>PT30S</Delay>`,
    `    </BootTrigger>`,
    `    <RegistrationTrigger>`,
    `      <Enabled>true</Enabled>`,
    ...repetition,
    `    </RegistrationTrigger>`,
    `  </Triggers>`,
    `  <Principals>`,
    `    <Principal id="Author">`,
    ...principal,
    `    </Principal>`,
    `  </Principals>`,
    `  <Settings>`,
    `    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>`,
    `    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>`,
    `    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>`,
    `    <AllowHardTerminate>true</AllowHardTerminate>`,
    `    <StartWhenAvailable>true</StartWhenAvailable>`,
    `    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>`,
    `    <IdleSettings>`,
    `      <StopOnIdleEnd>false</StopOnIdleEnd>`,
    `      <RestartOnIdle>false</RestartOnIdle>`,
    `    </IdleSettings>`,
    `    <AllowStartOnDemand>true</AllowStartOnDemand>`,
    `    <Enabled>true</Enabled>`,
    `    <Hidden>false</Hidden>`,
    `    <RunOnlyIfIdle>false</RunOnlyIfIdle>`,
    `    <WakeToRun>false</WakeToRun>`,
    `    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>`,
    `    <Priority>${taskPriority(spec.nice)}</Priority>`,
    `    <RestartOnFailure>`,
    `      <Interval>PT1M</Interval>`,
    `      <Count>255</Count>`,
    `    </RestartOnFailure>`,
    `  </Settings>`,
    `  <Actions Context="Author">`,
    `    <Exec>`,
    `      <Command>${x(quoteWindowsArg(command))}</Command>`,
    `      <Arguments>${x(args)}</Arguments>`,
    `      <WorkingDirectory>${
      x(noPercent(spec.workingDirectory, "the working folder"))
    }</WorkingDirectory>`,
    `    </Exec>`,
    `  </Actions>`,
    `</Task>`,
    "",
  ];
  return lines.join("\r\n");
}

/** UTF-16 little-endian with a byte order mark: what `schtasks /Create /XML` expects. */
export function encodeUtf16le(text: string): Uint8Array {
  const bytes = new Uint8Array(2 + text.length * 2);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xfeff, true);
  for (let i = 0; i < text.length; i++) view.setUint16(2 + i * 2, text.charCodeAt(i), true);
  return bytes;
}
