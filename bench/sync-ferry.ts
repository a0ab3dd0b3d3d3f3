/**
 * Ferry's contender in bench/sync.ts, one process per round (as a replication task is one): the
 * product's synchronization path without the control plane. A SinkTarget (shared/sinks/sink-target.ts,
 * built as shared/sinks/open.ts builds it) over openKafkaProducer, fed by openBinlogReader from
 * `from`, as shared/replication/stream.ts runs them. The parent talks to it over IPC:
 *
 *   node bench/.build/sync-ferry.mjs '<FerrySetup as JSON>'    (the bundle bench/sync-spawn.ts makes)
 *
 * With `until`, it reports `done` at the first commit whose checkpoint reaches it and exits; without
 * (latency), it streams until the parent sends "stop". Only the sink's own producer is watched:
 * what it was asked to send and when its commits returned.
 */
import { hasReached, type SourcePosition } from "../shared/binlog/position.ts";
import { openBinlogReader } from "../shared/capture/reader.ts";
import { connect, createPool } from "../shared/db/connect.ts";
import { localInstance } from "../shared/local/instances.ts";
import { ObjectRules } from "../shared/model/rules.ts";
import { SyncOptions } from "../shared/model/sync.ts";
import { captureFilter } from "../shared/replication/echoes.ts";
import { formatFor } from "../shared/sinks/formats/index.ts";
import { openKafkaProducer } from "../shared/sinks/kafka/producer.ts";
import type { BrokerMessage, SinkCheckpoint, SinkProducer } from "../shared/sinks/producer.ts";
import { SinkTarget } from "../shared/sinks/sink-target.ts";
import { kafkaCredentials } from "../test/support/kafka.ts";

export interface FerrySetup {
	/** The stream id: the transactional id and checkpoint key (a fresh one per round: no checkpoint). */
	stream: string;
	/** Topics are `<prefix>.{database}.{table}`; also the Debezium format's serverName. */
	prefix: string;
	databases: string[];
	from: SourcePosition;
	/** Stop at the first commit whose checkpoint reaches this; absent: stream until told to stop. */
	until?: SourcePosition;
	serverId: number;
}

export interface FerryReport {
	kind: "done";
	/** ms from this process's start (process.uptime) to the commit that reached `until`. */
	doneMs: number;
	/** ms from this process's start to the first send. */
	firstMs: number;
	/** Messages handed to the producer: row messages and tombstones (values null). */
	rows: number;
	tombstones: number;
	commits: number;
	/** Seconds inside the producer's send and commit (the client's encoding and the broker's round trips; sends overlap the sink's work). */
	sendSeconds: number;
	commitSeconds: number;
	transactions: number;
	/** User + system CPU seconds of this process so far. */
	cpu: number;
}

/** The sink's producer, watched: counts what it sends and notices the commit that reaches `until`. */
class WatchedProducer implements SinkProducer {
	rows = 0;
	tombstones = 0;
	commits = 0;
	firstMs = Number.NaN;
	sendMs = 0;
	commitMs = 0;

	constructor(
		private readonly inner: SinkProducer,
		private readonly onCommit: (position: SourcePosition) => void,
	) {}

	open() {
		return this.inner.open();
	}
	partitions(topic: string) {
		return this.inner.partitions(topic);
	}
	async send(messages: BrokerMessage[]) {
		const t0 = performance.now();
		if (Number.isNaN(this.firstMs)) this.firstMs = process.uptime() * 1000;
		for (const m of messages) {
			if (m.value === null) this.tombstones += 1;
			else this.rows += 1;
		}
		await this.inner.send(messages);
		this.sendMs += performance.now() - t0;
	}
	async commit(checkpoint: SinkCheckpoint) {
		const t0 = performance.now();
		await this.inner.commit(checkpoint);
		this.commitMs += performance.now() - t0;
		this.commits += 1;
		this.onCommit(checkpoint.position);
	}
	close() {
		return this.inner.close();
	}
}

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

async function main(setup: FerrySetup): Promise<void> {
	const source = localInstance("source");
	const options = SyncOptions.parse({
		format: "debezium",
		topic: `${setup.prefix}.{database}.{table}`,
		serverName: setup.prefix,
		partitioning: "key",
		schemas: false,
	});
	const stop = new AbortController();
	let reached: () => void = () => {};
	const done = new Promise<void>((resolve) => {
		reached = resolve;
	});
	process.on("message", (m) => m === "stop" && reached());
	const producer = new WatchedProducer(openKafkaProducer(kafkaCredentials, setup.stream), (position) => {
		if (setup.until && hasReached(position, setup.until)) reached();
	});
	const pool = createPool(source, 2);
	const [ids] = await pool.query("SELECT @@server_id AS id");
	const target = new SinkTarget({
		source: pool,
		snapshotConnection: () => connect(source),
		resolve: async () => [],
		rules: ObjectRules.parse(setup.databases.map((database) => ({ database }))),
		producer,
		format: formatFor(options),
		options,
		broker: "kafka",
		full: false,
		incremental: true,
		serverId: Number((ids as { id: number }[])[0]?.id ?? 0),
	});
	try {
		const from = (await target.open()) ?? setup.from;
		target.startAt(from);
		const reader = await openBinlogReader(source, {
			from,
			serverId: setup.serverId,
			...captureFilter(setup.stream, (t) => target.captures(t)),
		});
		const run = target.run(reader, stop.signal);
		await Promise.race([done, run.then(() => Promise.reject(new Error("the sink's run ended on its own")))]);
		const report: FerryReport = {
			kind: "done",
			doneMs: process.uptime() * 1000,
			firstMs: producer.firstMs,
			rows: producer.rows,
			tombstones: producer.tombstones,
			commits: producer.commits,
			sendSeconds: producer.sendMs / 1000,
			commitSeconds: producer.commitMs / 1000,
			transactions: target.progress.transactions,
			cpu: cpuSeconds(process.cpuUsage()),
		};
		stop.abort();
		await reader.close();
		await run;
		process.send?.(report);
	} finally {
		await target.close();
		await pool.end();
	}
}

const setup = JSON.parse(process.argv[2] ?? "{}") as FerrySetup;
try {
	await main(setup);
	process.disconnect?.();
} catch (err) {
	console.error(err);
	process.exit(1);
}
