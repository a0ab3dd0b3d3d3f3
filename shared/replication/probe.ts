import { type Connection, connect, sever } from "../db/connect.ts";
import type { Credentials } from "../model/datasource.ts";

/*
 * Whether the servers a replication session talks to still answer. A request on a dead network
 * waits forever when nothing closes the connection (a black-holed route: no RST, no FIN; the TCP
 * keepalive of connect.ts catches a vanished peer, not a silent one behind a middlebox that
 * answers for it), and nothing is said while a long request runs, so a slow server and a dead
 * link look alike from the request's own connection. A round trip on a connection of the probe's
 * own tells them apart: a server that answers it is alive and reachable, however long the
 * session's own request takes. The databases answer `SELECT 1`; a broker what its sink asks
 * (shared/sinks/probe.ts).
 */

/** How often each server is asked, and how long it may take to answer (connecting included). */
export function probeTimings(): { everyMs: number; timeoutMs: number } {
	return {
		everyMs: Number(process.env.FERRY_REPLICATION_PROBE_MS ?? 5_000),
		timeoutMs: Number(process.env.FERRY_REPLICATION_PROBE_TIMEOUT_MS ?? 15_000),
	};
}

/** A server of the session that stopped answering: the session must end (and its connections be severed). */
export class ServerUnreachableError extends Error {
	readonly code = "UNREACHABLE";
	constructor(message: string) {
		super(message);
		this.name = "ServerUnreachableError";
	}
}

/** One server (or cluster) to ask, on a connection of the probe's own. */
export interface Probe {
	/** What the error calls it: "the source", "the destination", "the Kafka cluster". */
	role: string;
	/** Where it is: host:port, a broker list. */
	where: string;
	/** One round trip; rejects when the server cannot be reached. Its bound is the caller's. */
	ask(): Promise<void>;
	/** Drops its connection without a polite close (after a failure, and at the end). */
	drop(reason: string): void;
}

/** A database asked `SELECT 1`; a connection lost while idle is made again at the next round. */
export function databaseProbe(role: string, creds: Credentials): Probe {
	let conn: Connection | undefined;
	return {
		role,
		where: `${creds.host}:${creds.port}`,
		async ask() {
			if (!conn) {
				const opened = await connect({ ...creds });
				// lost while idle (a cut between two rounds): the next round connects afresh and says why it cannot
				opened.on("error", () => {
					if (conn === opened) conn = undefined;
				});
				conn = opened;
			}
			await conn.query("SELECT 1");
		},
		drop(reason) {
			// severed, not ended: a polite end on a dead network never finishes, and a SELECT 1 connection has nothing to lose
			if (conn) sever(conn, reason);
			conn = undefined;
		},
	};
}

/**
 * Asks each probe every `everyMs`; `dead` rejects with the first that does not answer within
 * `timeoutMs`. `stop` ends the probing (and drops its connections).
 */
export function probeServers(probes: Probe[], timings = probeTimings()) {
	let timer: NodeJS.Timeout | undefined;
	let stopped = false;
	let fail: (err: ServerUnreachableError) => void = () => {};
	const dead = new Promise<never>((_, reject) => {
		fail = reject;
	});
	// nobody may be waiting on it when it fails (a session ending for another reason)
	dead.catch(() => {});

	const ask = async (p: Probe): Promise<void> => {
		let timeout: NodeJS.Timeout | undefined;
		const late = new Promise<"late">((resolve) => {
			timeout = setTimeout(() => resolve("late"), timings.timeoutMs);
		});
		const answer = p.ask().then(() => "answered" as const);
		try {
			const outcome = await Promise.race([answer, late]);
			if (outcome === "late") {
				answer.catch(() => {});
				throw new ServerUnreachableError(
					`${p.role} ${p.where} did not answer for ${Math.round(timings.timeoutMs / 1000)} s: the network to it is down or the server hangs; Ferry goes on from where it stopped once it answers`,
				);
			}
		} catch (err) {
			p.drop("probe failed");
			if (err instanceof ServerUnreachableError) throw err;
			throw new ServerUnreachableError(`${p.role} ${p.where} cannot be reached: ${(err as Error).message}`);
		} finally {
			clearTimeout(timeout);
		}
	};

	const round = async () => {
		if (stopped) return;
		try {
			await Promise.all(probes.map(ask));
		} catch (err) {
			if (!stopped) fail(err as ServerUnreachableError);
			return;
		}
		if (!stopped) timer = setTimeout(round, timings.everyMs);
	};
	timer = setTimeout(round, timings.everyMs);

	return {
		dead,
		stop(): void {
			stopped = true;
			clearTimeout(timer);
			for (const p of probes) p.drop("probe stopped");
		},
	};
}
