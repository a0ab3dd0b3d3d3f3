import type { SourcePosition } from "../binlog/position.ts";
import type { TransactionPart } from "../capture/change.ts";
import type { Context } from "../context.ts";
import { connect, type Pool } from "../db/connect.ts";
import type { Direction, Project } from "../model/project.ts";
import type { TableName } from "../model/rules.ts";
import { Applier } from "../replay/applier.ts";
import { describeServer } from "../schema/read.ts";
import type { ServerInfo } from "../schema/snapshot.ts";
import { credentialsFor, getDatabaseSource } from "../state/datasources.ts";
import { listTables } from "../state/tables.ts";
import { Tables } from "./mappings.ts";
import type { ReplicationTarget, Retune, TargetProgress } from "./target.ts";

export interface MysqlTargetSetup {
	ctx: Context;
	project: Project;
	direction: Direction;
	/** The stream's id: the key of its checkpoint row and the mark of what its replay writes. */
	stream: string;
	/** The data source replay writes into. */
	targetId: string;
	/** The server capture reads: row filters and unmapped tables read it (Applier `source`, mappings.ts). */
	capture: Pool;
	/** What that server is: DDL translation writes the target's dialect from the source's. */
	captureServer: Pick<ServerInfo, "flavor" | "version">;
}

/**
 * A MySQL or MariaDB server as a replication target: replay (shared/replay/applier.ts) writes
 * each source transaction in one destination transaction with the stream's checkpoint row, and
 * the stream's mappings (mappings.ts) translate and run its DDL there. Describes the target
 * server now; connects on `open`.
 */
export async function mysqlTarget(s: MysqlTargetSetup): Promise<ReplicationTarget> {
	const { ctx, project, direction } = s;
	const reverse = direction === "reverse";
	const [targetCreds, target] = await Promise.all([
		credentialsFor(ctx, s.targetId),
		getDatabaseSource(ctx, s.targetId),
	]);
	const targetServer = await connect(targetCreds).then(async (c) => {
		try {
			return await describeServer(c);
		} finally {
			await c.end();
		}
	});
	const tables = new Tables({
		ctx,
		project,
		direction,
		forward: (await listTables(ctx, project.id)).map((t) => t.mapping),
		servers: {
			destinationEngine: target.engine,
			destinationVersion: targetServer.version,
			source: { flavor: s.captureServer.flavor, version: s.captureServer.version },
		},
		capture: s.capture,
		target: targetCreds,
	});
	const skipGtid = reverse ? project.reverse?.skipGtid : project.incremental?.skipGtid;
	const applier = new Applier({
		destination: targetCreds,
		stream: s.stream,
		mapping: (t) => tables.mapping(t),
		columnRule: (t, column) => tables.columnRule(t, column),
		onMappingChanged: (m) => tables.mappingChanged(m),
		source: s.capture,
		// reverse replay starts where the destination took no more writes from forward replay: exact from the start
		safeUntil: reverse ? null : (project.incremental?.safeUntil ?? null),
		parallel: parallelApply(project, direction),
		groupTransactions: project.options.replayBatchSize,
		onDdl: async (change, { connection, part }) => {
			if (part.gtid && part.gtid === skipGtid) await tables.skipDdl(change, part);
			else await tables.applyDdl(change, part, connection);
		},
	});
	return new MysqlTarget(applier, tables, direction);
}

/**
 * Destination connections replay applies on: the project's `parallelApply` for forward one-way
 * replay; one otherwise, as each transaction's checkpoint row must come first for the other
 * direction to recognise it (two-way sync, reverse replay; applier.ts).
 */
function parallelApply(project: Project, direction: Direction): number {
	return direction === "forward" && !project.options.twoWay ? (project.options.parallelApply ?? 1) : 1;
}

/** The Applier and the stream's mappings behind ReplicationTarget. */
class MysqlTarget implements ReplicationTarget {
	constructor(
		private readonly applier: Applier,
		private readonly tables: Tables,
		private readonly direction: Direction,
	) {}

	/** The batch size applies from the next group; another number of connections needs a new session. */
	retune(project: Project): Retune {
		if (parallelApply(project, this.direction) !== this.applier.tuning.parallel) return "restart";
		return this.applier.setGroupTransactions(project.options.replayBatchSize) ? "applied" : "unchanged";
	}

	async open(): Promise<SourcePosition | null> {
		// creates the helper schema and reads the checkpoint row (shared/replay/checkpoint.ts)
		const checkpoint = await this.applier.open();
		return checkpoint?.position ?? null;
	}

	startAt(position: SourcePosition): void {
		this.applier.startAt(position);
	}

	captures(table: TableName): boolean {
		return this.tables.captures(table);
	}

	async run(parts: AsyncIterable<TransactionPart>, signal: AbortSignal): Promise<void> {
		await this.applier.run(parts, signal);
	}

	get progress(): TargetProgress {
		const { parallel, groupTransactions } = this.applier.tuning;
		return { ...this.applier.progress, tuning: { parallelApply: parallel, replayBatchSize: groupTransactions } };
	}

	sever(reason: string): void {
		this.applier.sever(reason);
	}

	close(): Promise<void> {
		return this.applier.close();
	}
}
