import { Admin } from "@platformatic/kafka";
import type { KafkaCredentials } from "../../model/datasource.ts";
import type { Probe } from "../../replication/probe.ts";
import { brokerList, clientOptions, explainKafkaError } from "./client.ts";

/*
 * The Kafka side of a replication session's liveness probe (replication/probe.ts). The producer's
 * own requests cannot tell: on a black-holed broker each waits for its request timeout (30 s)
 * and is retried, nested retries included, for minutes, while the stream reports running. So every
 * broker of the cluster (the partitions' leaders and the transaction coordinator are among them)
 * answers a metadata request on a connection of the probe's own, without retries: the first
 * round asks the bootstrap brokers, each later round every broker the last answer listed.
 */

export function kafkaProbe(creds: KafkaCredentials, timeoutMs: number): Probe {
	/** One client per broker asked ("" for the bootstrap list): each keeps its connection between rounds. */
	const clients = new Map<string, Admin>();
	let brokers: string[] = [];
	const client = (key: string, bootstrap: string[]): Admin => {
		let admin = clients.get(key);
		if (!admin) {
			admin = new Admin({
				...clientOptions({ ...creds, brokers: bootstrap }),
				retries: 0,
				connectTimeout: timeoutMs,
				requestTimeout: timeoutMs,
			});
			clients.set(key, admin);
		}
		return admin;
	};
	return {
		role: "the Kafka cluster",
		where: brokerList(creds),
		async ask() {
			const targets: [string, string[]][] = brokers.length > 0 ? brokers.map((b) => [b, [b]]) : [["", creds.brokers]];
			const answers = await Promise.all(
				targets.map(async ([key, bootstrap]) => {
					try {
						return await client(key, bootstrap).metadata({ topics: [], forceUpdate: true });
					} catch (err) {
						throw explainKafkaError(err, { ...creds, brokers: bootstrap }, "probe");
					}
				}),
			);
			const listed = answers[0] ? [...answers[0].brokers.values()].map((b) => `${b.host}:${b.port}`) : [];
			if (listed.length > 0) brokers = listed;
		},
		drop() {
			for (const admin of clients.values()) void admin.close().catch(() => {});
			clients.clear();
			brokers = [];
		},
	};
}
