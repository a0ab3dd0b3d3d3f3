import { type Connection, connect, sever } from "../db/connect.ts";
import type { Credentials } from "../model/datasource.ts";

/*
 * Whether the servers a replication session talks to still answer. A statement on a dead network
 * waits forever when nothing closes the connection (a black-holed route: no RST, no FIN; the TCP
 * keepalive of connect.ts catches a vanished peer, not a silent one behind a middlebox that
 * answers for it), and the protocol says nothing while a long statement runs, so a slow group and
 * a dead link look alike from its own connection. A `SELECT 1` on a connection of the probe's own
 * tells them apart: a server that answers it is alive and reachable, however long replay's
 * statement takes.
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

export interface ProbedServer {
	/** What the error calls it: "the source", "the destination". */
	role: string;
	creds: Credentials;
}

/**
 * Asks each server `SELECT 1` every `everyMs`; `dead` rejects with the first that does not answer
 * within `timeoutMs`. `stop` ends the probing (and closes its connections).
 */
export function probeServers(servers: ProbedServer[], timings = probeTimings()) {
	const conns = new Map<ProbedServer, Connection>();
	let timer: NodeJS.Timeout | undefined;
	let stopped = false;
	let fail: (err: ServerUnreachableError) => void = () => {};
	const dead = new Promise<never>((_, reject) => {
		fail = reject;
	});
	// nobody may be waiting on it when it fails (a session ending for another reason)
	dead.catch(() => {});

	const ask = async (s: ProbedServer): Promise<void> => {
		const where = `${s.creds.host}:${s.creds.port}`;
		let timeout: NodeJS.Timeout | undefined;
		const late = new Promise<"late">((resolve) => {
			timeout = setTimeout(() => resolve("late"), timings.timeoutMs);
		});
		const answer = (async () => {
			let conn = conns.get(s);
			if (!conn) {
				const opened = await connect({ ...s.creds });
				// lost while idle (a cut between two rounds): the next round connects afresh and says why it cannot
				opened.on("error", () => {
					if (conns.get(s) === opened) conns.delete(s);
				});
				conns.set(s, opened);
				conn = opened;
			}
			await conn.query("SELECT 1");
			return "answered" as const;
		})();
		try {
			const outcome = await Promise.race([answer, late]);
			if (outcome === "late") {
				answer.catch(() => {});
				throw new ServerUnreachableError(
					`${s.role} ${where} did not answer for ${Math.round(timings.timeoutMs / 1000)} s: the network to it is down or the server hangs; resuming from the checkpoint once it answers`,
				);
			}
		} catch (err) {
			const c = conns.get(s);
			conns.delete(s);
			if (c) sever(c, "probe failed");
			if (err instanceof ServerUnreachableError) throw err;
			throw new ServerUnreachableError(`${s.role} ${where} cannot be reached: ${(err as Error).message}`);
		} finally {
			clearTimeout(timeout);
		}
	};

	const round = async () => {
		if (stopped) return;
		try {
			await Promise.all(servers.map(ask));
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
			// severed, not ended: a polite end on a dead network never finishes, and a SELECT 1 connection has nothing to lose
			for (const c of conns.values()) sever(c, "probe stopped");
			conns.clear();
		},
	};
}
