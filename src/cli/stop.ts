/**
 * `agent stop`: asks the running agent to stop gracefully (`POST /stop` with the control token)
 * and waits until it has. This is the graceful stop on Windows, which has no SIGTERM: Task
 * Scheduler's End and Deno's `kill` end the process outright there. It works the same on Linux
 * and macOS.
 *
 * The agent has stopped once its data directory's lock is free: it gives the lock up last, and
 * the OS gives it up when the process dies.
 *
 * @module
 */
import { heldElsewhere, runsElsewhere } from "../watch/held_elsewhere.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { ExitCode } from "../exit_code.ts";
import { configForCommand, configHelp, configOption } from "./config_arg.ts";
import { ActionRefused, contactAgent, postAction } from "../control/client.ts";
import type { ControlInfo } from "../control/server.ts";
import { readSavedState } from "../data_dir/state_file.ts";
import { isDataDirLocked } from "../data_dir/lock.ts";

/** `agent stop [--config FILE] [--timeout SECONDS]` */
export const command: Command = {
  name: "stop",
  summary: "Stop the running agent gracefully and wait until it has stopped",
  help: `Usage: agent stop [--config FILE] [--timeout SECONDS]

Asks the agent running on the config's data directory to stop, as SIGTERM does on Linux and
macOS: it takes no new files, lets work in flight finish or go back to the queue, and exits 0.
Waits until it has stopped. Use it on Windows, where ending the scheduled task
(\`schtasks /End\`) kills the process instead. Needs the control token in <dataDir>/control.json,
so run it as the agent's account or as an administrator.

Options:
${configHelp}
  --timeout SECONDS   Wait this long for the agent to stop (default 30; it gives up its own
                      drain after 25 s)

Exit codes: 0 the agent stopped, or none was running; 1 it could not be asked (no answer,
token refused, or it runs on another data directory than the config's) or did not stop in time; 2 usage error; 3 invalid config.`,
  async run(argv) {
    const { values } = parseCommandArgs("stop", argv, {
      ...configOption,
      timeout: { type: "string" },
    });
    const timeoutS = values.timeout === undefined ? 30 : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      throw new UsageError(
        `--timeout expects a number of seconds > 0, found "${values.timeout}"`,
        "stop",
      );
    }
    const loaded = await configForCommand(values.config as string | undefined);
    if ("exit" in loaded) return loaded.exit;
    const { dataDir } = loaded.config;
    try {
      return await stopAgent(
        dataDir,
        timeoutS * 1000,
        loaded.config.converters.map((c) => c.watch),
      );
    } catch (e) {
      if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
      console.error(
        `agent stop: can't read the data directory ${dataDir} (${(e as Error).message}). Run ` +
          "it as the agent's account or as an administrator (sudo on Linux and macOS).",
      );
      return ExitCode.FAILURE;
    }
  },
};

async function stopAgent(dataDir: string, timeoutMs: number, folders: string[]): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let contact = await contactAgent(dataDir);
  // Starting up (locked, control endpoint not yet open): wait for it rather than fail.
  while (contact.state === "unreachable" && Date.now() < deadline) {
    await sleep(250);
    contact = await contactAgent(dataDir);
  }
  if (contact.state === "stopped") {
    const other = await heldElsewhere(folders, dataDir);
    if (other) {
      console.error(`agent stop: ${runsElsewhere(other, dataDir)}.`);
      return ExitCode.FAILURE;
    }
    console.log(`No agent runs on ${dataDir}; nothing to stop.`);
    return ExitCode.OK;
  }
  if (contact.state === "unreachable") {
    console.error(
      `agent stop: ${contact.why}, so it can't be asked to stop. Check its log in ` +
        `${dataDir}/logs; ending its process instead is abrupt but safe (the queue is crash-safe).`,
    );
    return ExitCode.FAILURE;
  }
  const { info } = contact;
  try {
    await postAction(info, "stop");
  } catch (e) {
    if (e instanceof ActionRefused) return refused(e, info, dataDir);
    // No answer: it may have stopped just now. The lock below tells.
    if (!(await isDataDirLocked(dataDir))) return stopped(info, dataDir);
    console.error(
      `agent stop: the agent (pid ${info.pid}) on 127.0.0.1:${info.port} did not take the stop ` +
        `request: ${(e as Error).message}. Check its log in ${dataDir}/logs.`,
    );
    return ExitCode.FAILURE;
  }
  console.log(`Stopping the agent (pid ${info.pid}) on ${dataDir}…`);
  while (await isDataDirLocked(dataDir)) {
    if (Date.now() > deadline) {
      console.error(
        `agent stop: the agent (pid ${info.pid}) was asked to stop but still runs after ` +
          `${timeoutMs / 1000} s: it is finishing the files and uploads in flight (it gives up ` +
          `after 25 s by itself). See its log in ${dataDir}/logs, or run \`agent stop\` again ` +
          "to wait longer.",
      );
      return ExitCode.FAILURE;
    }
    await sleep(200);
  }
  return stopped(info, dataDir);
}

/** The lock is free: say whether the agent finished its stop (it records that in state.json). */
async function stopped(info: ControlInfo, dataDir: string): Promise<number> {
  const saved = await readSavedState(dataDir);
  if (saved?.pid === info.pid && saved.stoppedAt) {
    console.log(`The agent (pid ${info.pid}) stopped.`);
    return ExitCode.OK;
  }
  console.error(
    `agent stop: the agent (pid ${info.pid}) is gone, but did not record a finished stop in ` +
      `${dataDir}/state.json: it was killed or exited during its stop. See its log in ` +
      `${dataDir}/logs. Nothing queued is lost (the queue is crash-safe).`,
  );
  return ExitCode.FAILURE;
}

async function refused(e: ActionRefused, info: ControlInfo, dataDir: string): Promise<number> {
  if (e.status === 401) {
    // control.json outlived its agent and another one now answers on that port.
    if (!(await isDataDirLocked(dataDir))) {
      console.log(`No agent runs on ${dataDir} (its control.json is stale); nothing to stop.`);
      return ExitCode.OK;
    }
    console.error(
      `agent stop: the agent on 127.0.0.1:${info.port} refused the token in ` +
        `${dataDir}/control.json, so that file is not the running agent's (it writes a new ` +
        "one at each start). Restart the agent through its service manager, or end its " +
        "process (abrupt but safe: the queue is crash-safe).",
    );
    return ExitCode.FAILURE;
  }
  console.error(`agent stop: ${e.message}`);
  return ExitCode.FAILURE;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
