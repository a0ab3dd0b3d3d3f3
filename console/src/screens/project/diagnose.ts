import type { ProjectStatus, StreamStatus } from "../../../../shared/control/status.ts";
import type { Finding, Project } from "../../../../shared/model/project.ts";

/**
 * What stops a project, from its ticket, its streams and its copy, each with the failing object,
 * the error and a suggested fix read from the error's own words (the messages of
 * shared/scheduler, shared/replication and the precheck's findings).
 */
export interface Stoppage {
	/** What stopped: "step full", "forward replay", "copy of shop.orders". */
	what: string;
	/** The failing object as the status gives it: a table and chunk, a statement, a binlog position. */
	object?: string;
	error: string;
	firstSeen?: string;
	/** Seconds since the failing stream last reported, when it is a stream. */
	heartbeatAgeSeconds?: number;
	/** "3 of 5 attempts", when the error says. */
	retries?: string;
	fix: string;
	/** The project's open ticket: retry and skip decide it. */
	ticket: boolean;
}

/** Fixes by what the error says, first match wins; the texts are Ferry's and MariaDB's own. */
const FIXES: [RegExp, string][] = [
	[
		/unsupported DDL|statement: (CREATE|ALTER|DROP) /i,
		"Ferry does not replay this statement. Apply what it should do at the destination yourself (or decide the destination needs none), then Skip passes over it and replay goes on.",
	],
	[
		/DESTINATION_TABLE_MISSING|table .* (does not exist|doesn't exist) at the destination/i,
		"Create the table at the destination (or exclude it from the project), then Retry.",
	],
	[
		/column .*(missing|lacks)|DESTINATION_COLUMN_MISSING|UNREPLICATED_COLUMN/i,
		"The destination lacks a column the changes write: add it there (as at the source), then Retry. Skip cannot help: every later change of the table needs it.",
	],
	[
		/already has \d+|Duplicate entry/i,
		"The destination table already holds rows: empty it, exclude it or rename it at the destination, then Retry.",
	],
	[
		/Access denied|command denied|privilege/i,
		"The data source's user lacks a privilege: grant what the message names (see the data source's connection test), then Retry.",
	],
	[
		/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|connect|Can't connect|server has gone away|Connection lost/i,
		"A server did not answer: check that it runs and that this machine reaches it, then Retry.",
	],
	[
		/max_statement_time|interrupted|query timeout|queryTimeoutSeconds/i,
		"A statement ran longer than the project allows: raise queryTimeoutSeconds or lower chunkRows in Parameters, then Retry.",
	],
	[/max_allowed_packet|packet.*too (big|large)/i, "Raise max_allowed_packet at the destination, then Retry."],
	[/Lock wait timeout|Deadlock/i, "Another session held the rows: Retry once it is done."],
	[
		/binlog.*purged|Could not find first log|purged binary logs/i,
		"The source no longer has the binlog replay needs: keep binlogs longer (binlog_expire_logs_seconds) and start a new project (Clone) to copy again.",
	],
	[
		/binlog_format|binlog_row_image|log_bin|gtid/i,
		"Change the source's server settings the message names (row-based binlog, full row image), then Retry.",
	],
	[
		/no (primary|unique) key|without a key/i,
		"Give the table a primary or unique key at the source, or exclude it, then Retry.",
	],
	[
		/latency|behind/i,
		"Replay is behind: wait for it to catch up (see Incremental), or raise the latency the switchover accepts.",
	],
];

export function suggestFix(error: string): string {
	return (
		FIXES.find(([re]) => re.test(error))?.[1] ??
		"Read the error, put its cause right, then Retry; Skip leaves this step undone."
	);
}

/** `mysql-bin.000004:1234`, a GTID set or a TiDB TSO, whichever the stream reports. */
export function positionText(p: StreamStatus["position"]): string | undefined {
	if (!p) return undefined;
	if (p.tso) return `TSO ${p.tso}`;
	const file = p.file ? `${p.file}:${p.pos}` : "";
	return [p.gtid && `GTID ${p.gtid}`, file].filter(Boolean).join(" · ") || undefined;
}

const ATTEMPT = /\(attempt (\d+)\/(\d+)\)/;
const FAILED_TIMES = /^copying (\S+) failed (\d+) times, last with: (.*)$/s;
const STATEMENT = /; statement: (.*)$/s;

function ticketStoppage(project: Project, status: ProjectStatus): Stoppage | undefined {
	const t = status.ticket;
	if (!t || status.state !== "failed") return undefined;
	const copy = FAILED_TIMES.exec(t.message);
	const stream = t.step === "reverse" ? status.reverse : t.stopsReplication ? status.incremental : undefined;
	const blocking = (project.findings ?? []).filter((f) => f.level === "error");
	const object =
		copy?.[1] ??
		STATEMENT.exec(t.message)?.[1] ??
		(blocking.length > 0 ? blocking.map((f) => f.object).join(", ") : undefined) ??
		positionText(stream?.position);
	return {
		what: `step ${t.step} (ticket ${t.id})`,
		object:
			object && stream && !copy ? `${object} at ${positionText(stream.position) ?? "an unknown position"}` : object,
		error: t.message,
		firstSeen: t.openedAt,
		retries: copy ? `${copy[2]} attempts` : undefined,
		fix:
			blocking.length > 0
				? blocking.map((f) => `${f.object}: ${f.fix}`).join("; ")
				: suggestFix(copy?.[3] ?? t.message),
		ticket: true,
	};
}

function streamStoppage(name: string, s: StreamStatus | undefined, ticket?: Stoppage): Stoppage | undefined {
	if (!s || (s.state !== "dead" && s.state !== "restarting" && !s.lastError)) return undefined;
	const error = s.lastError ?? s.stateReason ?? `the stream is ${s.state}`;
	// the ticket already says it (replication stopped: ...)
	if (ticket?.error.includes(error)) return undefined;
	return {
		what: `${name} (${s.state})`,
		object: positionText(s.position),
		error,
		heartbeatAgeSeconds: s.heartbeatAgeSeconds,
		fix:
			s.state === "restarting"
				? `Ferry restarts the replication task itself; if it keeps failing, ${lower(suggestFix(error))}`
				: suggestFix(error),
		ticket: false,
	};
}

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function copyStoppages(status: ProjectStatus, ticket?: Stoppage): Stoppage[] {
	return (status.full?.tables ?? [])
		.filter((t) => t.errors.length > 0 && !ticket?.object?.includes(t.source))
		.map((t) => {
			const first = t.errors[0] ?? "";
			const attempt = ATTEMPT.exec(first);
			return {
				what: `copy of ${t.source}`,
				object: `${t.source} ${first.split(" (")[0]}${t.errors.length > 1 ? ` and ${t.errors.length - 1} more chunk(s)` : ""}`,
				error: first.replace(/^chunk \S+ \(attempt \d+\/\d+\): /, ""),
				retries: attempt ? `attempt ${attempt[1]} of ${attempt[2]}` : undefined,
				fix: `Ferry retries the chunk itself. ${suggestFix(first)}`,
				ticket: false,
			};
		});
}

export function stoppages(project: Project, status: ProjectStatus): Stoppage[] {
	const ticket = ticketStoppage(project, status);
	const forwardName = project.sync ? "synchronization stream" : "forward replay";
	return [
		...(ticket ? [ticket] : []),
		...[
			streamStoppage(forwardName, status.incremental, ticket),
			streamStoppage("reverse replay", status.reverse, ticket),
		].filter((s): s is Stoppage => s !== undefined),
		...copyStoppages(status, ticket),
	];
}

/** The blocking precheck findings a user may waive one by one (those with an id). */
export const waivable = (project: Project): Finding[] =>
	project.state === "failed" && project.ticket?.step.endsWith("precheck")
		? (project.findings ?? []).filter((f) => f.level === "error" && f.id)
		: [];
