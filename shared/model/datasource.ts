import { z } from "zod";

/** The database engines Ferry speaks to; all of them over the MySQL protocol. */
export const Engine = z.enum(["mysql", "mariadb", "oceanbase-mysql", "tidb"]);
export type Engine = z.infer<typeof Engine>;

/** Where a database lives and how to log in, without the password (that lives in a secret). */
export const Endpoint = z.object({
	host: z.string().min(1).max(255),
	port: z.number().int().min(1).max(65535),
	user: z.string().min(1).max(128),
	tls: z.boolean().default(false),
});
export type Endpoint = z.infer<typeof Endpoint>;

interface Described {
	id: string;
	name: string;
	description?: string;
	createdAt: string;
	updatedAt: string;
}

/** A database data source as stored and shown: never holds the password. */
export interface DatabaseSource extends Endpoint, Described {
	engine: Engine;
}

/** What a connection needs: the endpoint plus the password fetched from the secret store. */
export interface Credentials extends Endpoint {
	password: string;
}

/*
 * Message queues: the destinations of synchronization projects (shared/model/sync.ts). Their
 * secret (a SASL password, a RocketMQ secret key) lives in the secret store like a database
 * password.
 */

const HostPort = z
	.string()
	.max(261)
	.regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, "host:port");

export const KafkaEndpoint = z
	.object({
		/** Bootstrap servers, host:port each. */
		brokers: z.array(HostPort).min(1).max(50),
		tls: z.boolean().default(false),
		/** SASL mechanism: none, PLAIN, SCRAM (SHA-256/512), or AWS MSK IAM (the task role's credentials, no password). */
		sasl: z.enum(["none", "plain", "scram-sha-256", "scram-sha-512", "aws-msk-iam"]).default("none"),
		/** The SASL user name (plain, scram). */
		user: z.string().min(1).max(256).optional(),
		clientId: z
			.string()
			.regex(/^[A-Za-z0-9._-]{1,100}$/)
			.default("ferry"),
	})
	.strict();
export type KafkaEndpoint = z.infer<typeof KafkaEndpoint>;

/** A Kafka endpoint with its SASL password (empty without SASL). */
export interface KafkaCredentials extends KafkaEndpoint {
	password: string;
}

export const RocketMqEndpoint = z
	.object({
		/** The RocketMQ 5 proxy's gRPC endpoint, host:port. */
		endpoint: HostPort,
		tls: z.boolean().default(false),
		/** The access key (ACL); absent for a proxy without ACL. Its secret is the stored password. */
		accessKey: z.string().min(1).max(256).optional(),
		namespace: z
			.string()
			.regex(/^[A-Za-z0-9_-]{0,64}$/)
			.optional(),
	})
	.strict();
export type RocketMqEndpoint = z.infer<typeof RocketMqEndpoint>;

/** A RocketMQ endpoint with the access key's secret (empty without ACL). */
export interface RocketMqCredentials extends RocketMqEndpoint {
	password: string;
}

export interface KafkaSource extends KafkaEndpoint, Described {
	engine: "kafka";
}

export interface RocketMqSource extends RocketMqEndpoint, Described {
	engine: "rocketmq";
}

/** The message queues a synchronization project writes to. */
export type BrokerSource = KafkaSource | RocketMqSource;

/** A data source as stored and shown (never with its secret): a database, or a message queue. */
export type DataSource = DatabaseSource | BrokerSource;

export function isBroker(ds: DataSource): ds is BrokerSource {
	return ds.engine === "kafka" || ds.engine === "rocketmq";
}
