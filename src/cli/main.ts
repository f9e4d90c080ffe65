/**
 * The command dispatcher: `agent <command> [options]`.
 *
 * @module
 */
import { type Command, UsageError } from "./command.ts";
import { ExitCode } from "../exit_code.ts";

/** Each command module, loaded only when it runs. */
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./run.ts")).command,
  status: async () => (await import("./status.ts")).command,
  flush: async () => (await import("./flush.ts")).command,
  stop: async () => (await import("./stop.ts")).command,
  convert: async () => (await import("./convert.ts")).command,
  init: async () => (await import("./init.ts")).command,
  config: async () => (await import("./config.ts")).command,
  version: async () => (await import("./version.ts")).command,
  service: async () => (await import("./service.ts")).command,
};

/** Command names in the order `agent help` lists them. */
const order = [
  "run",
  "stop",
  "status",
  "flush",
  "convert",
  "init",
  "config",
  "service",
  "version",
  "help",
];

async function helpText(): Promise<string> {
  const lines = [
    "agent: the WATS station agent. Watches drop folders, converts test results to WATS",
    "reports, queues them on disk and uploads them to a WATS server.",
    "",
    "Usage: agent <command> [options]",
    "",
    "Commands:",
  ];
  for (const name of order) {
    if (name === "help") {
      lines.push(`  ${"help".padEnd(10)} Show this help, or the help of one command`);
    } else if (commands[name]) {
      lines.push(`  ${name.padEnd(10)} ${(await commands[name]()).summary}`);
    }
  }
  lines.push("", "Run `agent <command> --help` for a command's options.");
  return lines.join("\n");
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic && commands[topic]) {
      console.log((await commands[topic]()).help);
      return ExitCode.OK;
    }
    if (topic) {
      console.error(`agent: unknown command "${topic}". Run \`agent help\` for the list.`);
      return ExitCode.USAGE;
    }
    console.log(await helpText());
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (name === "--version" || name === "-V") return main(["version", ...rest]);
  const load = commands[name];
  if (!load) {
    console.error(`agent: unknown command "${name}". Run \`agent help\` for the list of commands.`);
    return ExitCode.USAGE;
  }
  const command = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return ExitCode.OK;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`agent ${name}: ${e.message}\nRun \`agent ${name} --help\` for its options.`);
      return ExitCode.USAGE;
    }
    // Most often the agent's data directory, private to its account, read by another user.
    if (e instanceof Deno.errors.PermissionDenied && name !== "run") {
      console.error(
        `agent ${name}: ${e.message}. Run it as the agent's account or as an administrator ` +
          "(sudo on Linux and macOS).",
      );
      return ExitCode.FAILURE;
    }
    throw e;
  }
}
