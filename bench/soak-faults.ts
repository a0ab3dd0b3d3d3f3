/**
 * The soak's faults (bench/soak.ts): which processes Ferry runs in local mode, how each fault is
 * injected and undone, and the schedule that picks them. A fault is one of
 * - `kill coordinator|worker|task`: SIGKILL of `ferry local up` (API, scheduler, embedded
 *   DynamoDB/SQS; its children die with it and it is started again over the same home), of one
 *   copy worker, or of the replication task (both restarted by Ferry itself);
 * - `crash source|destination`: SIGKILL of mariadbd, then started again;
 * - `restart source|destination`: a clean shutdown, then started again;
 * - `cut source|destination`: every connection reset and new ones refused for a while (proxy);
 * - `blackhole source|destination`: nothing forwarded, no RST, for a while (proxy).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { FaultProxy } from "../test/support/fault-proxy.ts";
import { sh, sleep } from "./support.ts";

export type FaultKind = "kill" | "crash" | "restart" | "cut" | "blackhole";
export interface Fault {
	kind: FaultKind;
	target: string;
	/** How long the network stays down (cut, blackhole), in seconds. */
	seconds?: number;
}

/** The processes a fault can hit, found again before each fault (restarts change their pids). */
export interface FerryProcesses {
	coordinator: number | undefined;
	workers: number[];
	tasks: number[];
}

function parentOf(pid: number): number | undefined {
	try {
		// the command may hold spaces and parentheses: the fields after the last ')' are fixed
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
	} catch {
		return undefined;
	}
}

function commandOf(pid: number): string {
	try {
		return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
	} catch {
		return "";
	}
}

/** The coordinator's children: copy workers and replication tasks, told apart by their entry file. */
export function ferryProcesses(coordinator: number | undefined): FerryProcesses {
	const children = readdirSync("/proc")
		.filter((p) => /^\d+$/.test(p))
		.map(Number)
		.filter((pid) => coordinator !== undefined && parentOf(pid) === coordinator);
	return {
		coordinator,
		workers: children.filter((pid) => commandOf(pid).includes("chunk-worker-process")),
		tasks: children.filter((pid) => commandOf(pid).includes("tasks/replication/main")),
	};
}

/** Resident memory in MiB (VmRSS), or undefined once the process is gone. */
export function rssMiB(pid: number): number | undefined {
	try {
		const line = readFileSync(`/proc/${pid}/status`, "utf8")
			.split("\n")
			.find((l) => l.startsWith("VmRSS:"));
		return line ? Number(line.split(/\s+/)[1]) / 1024 : undefined;
	} catch {
		return undefined;
	}
}

/** A small deterministic generator, so a seed replays the same schedule. */
export function random(seed: number): () => number {
	let s = seed >>> 0 || 1;
	return () => {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		return (s >>> 0) / 2 ** 32;
	};
}

/** Every kind of fault in turn (shuffled per round), so a short soak still meets each one. */
export function faultSchedule(next: () => number): () => Fault {
	const all: Fault[] = [
		{ kind: "kill", target: "coordinator" },
		{ kind: "kill", target: "worker" },
		{ kind: "kill", target: "task" },
		{ kind: "crash", target: "source" },
		{ kind: "crash", target: "destination" },
		{ kind: "restart", target: "source" },
		{ kind: "restart", target: "destination" },
		{ kind: "cut", target: "source" },
		{ kind: "cut", target: "destination" },
		{ kind: "blackhole", target: "source" },
		{ kind: "blackhole", target: "destination" },
	];
	let round: Fault[] = [];
	return () => {
		if (round.length === 0) {
			round = [...all];
			for (let i = round.length - 1; i > 0; i--) {
				const j = Math.floor(next() * (i + 1));
				[round[i], round[j]] = [round[j] as Fault, round[i] as Fault];
			}
		}
		const fault = round.pop() as Fault;
		return fault.kind === "cut" || fault.kind === "blackhole"
			? { ...fault, seconds: 5 + Math.floor(next() * 26) }
			: fault;
	};
}

export interface FaultTargets {
	/** Ferry's processes now. */
	processes(): FerryProcesses;
	/** Starts `ferry local up` again after its SIGKILL. */
	restartCoordinator(): Promise<void>;
	/** The soak's MariaDB instance names (scripts/services/mariadb.sh) and pid files by part. */
	instances: Record<"source" | "destination", { name: string; pidFile: string }>;
	proxies: Record<"source" | "destination", FaultProxy>;
}

const MARIADB_SH = new URL("../scripts/services/mariadb.sh", import.meta.url).pathname;

/** Injects `fault` and undoes it (a server started again, the network back); says what it hit. */
export async function inject(fault: Fault, t: FaultTargets, pick: () => number): Promise<string> {
	if (fault.kind === "kill") {
		const p = t.processes();
		const pids = fault.target === "coordinator" ? [p.coordinator] : fault.target === "worker" ? p.workers : p.tasks;
		const pid = pids[Math.floor(pick() * pids.length)];
		if (pid === undefined) return `no ${fault.target} process was running`;
		process.kill(pid, "SIGKILL");
		if (fault.target === "coordinator") {
			await sleep(1000);
			await t.restartCoordinator();
		}
		return `SIGKILL ${fault.target} pid ${pid}`;
	}
	const part = fault.target as "source" | "destination";
	if (fault.kind === "crash" || fault.kind === "restart") {
		const { name, pidFile } = t.instances[part];
		if (fault.kind === "crash") {
			const pid = Number(readFileSync(pidFile, "utf8").trim());
			process.kill(pid, "SIGKILL");
			while (rssMiB(pid) !== undefined) await sleep(200);
		} else {
			await sh(`bash ${MARIADB_SH} stop ${name}`);
		}
		await sh(`bash ${MARIADB_SH} start ${name}`);
		return `${fault.kind === "crash" ? "SIGKILL" : "clean restart of"} mariadbd (${part})`;
	}
	const proxy = t.proxies[part];
	if (fault.kind === "cut") {
		const n = proxy.cut({ hold: true });
		await sleep((fault.seconds ?? 10) * 1000);
		proxy.restore();
		return `${n} connections to the ${part} reset, refused for ${fault.seconds} s`;
	}
	const open = proxy.connections;
	proxy.blackhole();
	await sleep((fault.seconds ?? 10) * 1000);
	proxy.restore();
	return `${open} connections to the ${part} black-holed for ${fault.seconds} s`;
}
