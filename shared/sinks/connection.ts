import type { KafkaCredentials, RocketMqCredentials } from "../model/datasource.ts";
import { testKafkaConnection } from "./kafka/client.ts";
import { testRocketMqConnection } from "./rocketmq/producer.ts";

export type BrokerConnection =
	| ({ engine: "kafka" } & KafkaCredentials)
	| ({ engine: "rocketmq" } & RocketMqCredentials);

/** The connection test of a message-queue data source, run before it is saved (and by precheck). */
export async function testBrokerConnection(broker: BrokerConnection): Promise<{ version: string }> {
	const { engine, ...creds } = broker;
	const found =
		engine === "kafka"
			? await testKafkaConnection(creds as KafkaCredentials)
			: await testRocketMqConnection(creds as RocketMqCredentials);
	return { version: describe(found) };
}

function describe(found: unknown): string {
	if (found && typeof found === "object" && "version" in found) return String((found as { version: unknown }).version);
	return JSON.stringify(found);
}
