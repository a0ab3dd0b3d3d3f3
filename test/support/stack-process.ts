// A local-mode Ferry in a process of its own, for tests that kill it (SIGKILL: no cleanup) and
// watch what its children do then. Arguments: its home, the number of copy workers. Prints the
// copy workers' pids as one JSON line once it runs.
import { startLocalStack } from "../../shared/local/stack.ts";

const [home, workers] = process.argv.slice(2);
if (!home) throw new Error("usage: stack-process.ts <home> [workers]");
const stack = await startLocalStack({
	home,
	apiPort: 0,
	workers: Number(workers ?? 1),
	schedulerIntervalMs: 300,
});
console.log(JSON.stringify({ workers: stack.workers().map((w) => w.pid) }));
