/**
 * `agent run`: the agent in the foreground, as a service manager starts it.
 *
 * @module
 */
import { type Command, parseCommandArgs } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { configForCommand, configHelp, configOption } from "./config_arg.ts";
import { Agent } from "../agent/agent.ts";
import { lowerPriority } from "../service/priority.ts";
import { AccessError, checkAccess } from "../service/access.ts";
import { checkSandbox } from "../service/sandbox.ts";
import { LockedError } from "../data_dir/lock.ts";
import { makePrivateDir, writableByAll } from "../private.ts";
import { ConfigError } from "../config/load.ts";
import { logger, logOptionsFor, setupLogging, shutdownLogging } from "../log/log.ts";

/** `agent run [--config FILE]` */
export const command: Command = {
  name: "run",
  summary: "Run the agent in the foreground (what a service starts)",
  help: `Usage: agent run [--config FILE]

Runs the agent until it gets SIGINT/SIGTERM (Ctrl+C; SIGBREAK on Windows) or \`agent stop\`:
watches the drop folders, converts files, queues reports and uploads them. On a stop it takes no
new files, lets work in flight finish or go back to the queue, and exits 0.

Options:
${configHelp}

Exit codes: 0 stopped by a signal or \`agent stop\`; 3 invalid config; 4 another agent runs on
this dataDir; 75 the converter pool could not recover (the service manager should restart it).`,
  async run(argv) {
    const { values } = parseCommandArgs("run", argv, configOption);
    const loaded = await configForCommand(values.config as string | undefined);
    if ("exit" in loaded) return loaded.exit;
    const { config } = loaded;
    // Before anything is written (the log is in dataDir): a folder the account may not use,
    // or one outside the service's sandbox, is said here with what to do.
    try {
      checkSandbox(config);
      await checkAccess(config);
    } catch (e) {
      if (e instanceof ConfigError) {
        console.error(e.message);
        return ExitCode.CONFIG;
      }
      if (e instanceof AccessError) {
        console.error(`agent run: can't start: ${e.message}`);
        return ExitCode.FAILURE;
      }
      throw e;
    }
    await makePrivateDir(config.dataDir); // before the logs folder in it is made
    await setupLogging(logOptionsFor(config));
    // A bug somewhere must not take the station's uploads down: log it, keep running (the
    // queue is on disk either way, and the log says where to look).
    const log = logger("agent");
    const loose = await writableByAll(config.dataDir);
    if (loose !== null) {
      log.warn(
        "The data directory {dir} can be written by every local user (mode {mode}): anyone on " +
          "this machine could add reports to the queue or replace its files. Make it the agent's " +
          "own: chmod 700 {dir}",
        { dir: config.dataDir, mode: loose.toString(8).padStart(4, "0") },
      );
    }
    globalThis.addEventListener("unhandledrejection", (e) => {
      e.preventDefault();
      log.error("Unexpected error (a bug; please report it with this log): {error}", {
        error: e.reason instanceof Error ? e.reason.stack ?? e.reason.message : String(e.reason),
      });
    });
    globalThis.addEventListener("error", (e) => {
      e.preventDefault();
      log.error("Unexpected error (a bug; please report it with this log): {error}", {
        error: e.error instanceof Error ? e.error.stack ?? e.error.message : String(e.message),
      });
    });
    // Before the converter workers start, so their threads inherit it.
    await lowerPriority(config.priority.nice);
    let agent: Agent;
    try {
      agent = await Agent.start(config);
    } catch (e) {
      await shutdownLogging();
      if (e instanceof LockedError) {
        console.error(`agent run: ${e.message}`);
        return ExitCode.LOCKED;
      }
      if (e instanceof ConfigError) {
        console.error(e.message);
        return ExitCode.CONFIG;
      }
      console.error(`agent run: can't start: ${(e as Error).message}`);
      return ExitCode.FAILURE;
    }
    const code = await agent.finished;
    await shutdownLogging();
    return code;
  },
};
