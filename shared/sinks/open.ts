import type { Context } from "../context.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { connect } from "../db/connect.ts";
import type { Credentials, KafkaCredentials, RocketMqCredentials } from "../model/datasource.ts";
import type { Project } from "../model/project.ts";
import { SyncOptions } from "../model/sync.ts";
import type { Probe } from "../replication/probe.ts";
import { resolveObjects } from "../schema/resolve.ts";
import { loadSinkCheckpoint, saveSinkCheckpoint } from "../state/streams.ts";
import { formatFor } from "./formats/index.ts";
import { kafkaProbe } from "./kafka/probe.ts";
import { openKafkaProducer } from "./kafka/producer.ts";
import { openRocketMqProducer } from "./rocketmq/producer.ts";
import { SinkTarget } from "./sink-target.ts";

/** How long one Kafka transaction may stay open: bounds the time to snapshot one table. */
const SNAPSHOT_TRANSACTION_MS = 300_000;

/** A message queue's credentials (state/datasources.ts `brokerCredentialsFor`). */
export type BrokerCredentials =
	| { engine: "kafka"; creds: KafkaCredentials }
	| { engine: "rocketmq"; creds: RocketMqCredentials };

/**
 * What the replication session's probe asks of the broker (replication/probe.ts). Kafka: every
 * broker, as the producer's own requests would hang for minutes on a silent one. RocketMQ: none;
 * every call of its client has a 10 s gRPC deadline, so a silent proxy fails the next call (a send,
 * tried 3 times, within about 30 s).
 */
export function brokerProbe(broker: BrokerCredentials, timeoutMs: number): Probe | undefined {
	return broker.engine === "kafka" ? kafkaProbe(broker.creds, timeoutMs) : undefined;
}

/**
 * A synchronization project's replication target: the broker's producer (Kafka keeps the
 * checkpoint in Kafka, RocketMQ in the state table), the project's format, and the source
 * connections the snapshot and row filters need. The replication stream calls it for a project
 * whose destination is a message queue.
 */
export async function openSinkTarget(s: {
	ctx: Context;
	project: Project;
	stream: string;
	broker: BrokerCredentials;
	capture: Pool;
	captureCreds: Credentials;
	control: Connection;
}): Promise<SinkTarget> {
	const { ctx, project, stream, broker } = s;
	const options = project.sync ?? SyncOptions.parse({});
	const producer =
		broker.engine === "kafka"
			? // a table's snapshot is one transaction: it must be sent within the timeout (the client also
				// waits this long for a produce acknowledgement, so it is not the broker's 15-minute maximum)
				openKafkaProducer(broker.creds, stream, { transactionTimeoutMs: SNAPSHOT_TRANSACTION_MS })
			: openRocketMqProducer(broker.creds, stream, {
					load: () => loadSinkCheckpoint(ctx, stream),
					save: (checkpoint) => saveSinkCheckpoint(ctx, stream, checkpoint),
				});
	const [rows] = await s.control.query("SELECT @@server_id AS id");
	return new SinkTarget({
		source: s.capture,
		snapshotConnection: () => connect(s.captureCreds),
		resolve: () => resolveObjects(s.control, project.objects),
		rules: project.objects,
		producer,
		format: formatFor(options),
		options,
		broker: broker.engine,
		full: project.types.includes("full"),
		incremental: project.types.includes("incremental"),
		serverId: Number((rows as { id: number }[])[0]?.id ?? 0),
	});
}
