import { Admin, type BaseOptions, ConfigResourceTypes, type SASLOptions } from "@platformatic/kafka";
import type { KafkaCredentials } from "../../model/datasource.ts";
import { SinkError } from "../errors.ts";

/*
 * What every Kafka client of Ferry shares: the connection options built from a data source's
 * credentials, and the translation of @platformatic/kafka's nested errors (MultipleErrors of
 * NetworkErrors of ...) into one message that names the object and says what to check.
 */

/** A failure talking to a Kafka cluster, naming the brokers, topic or stream it concerns. */
export class KafkaError extends SinkError {
	override name = "KafkaError";
}

const MECHANISMS = {
	plain: "PLAIN",
	"scram-sha-256": "SCRAM-SHA-256",
	"scram-sha-512": "SCRAM-SHA-512",
} as const;

/**
 * How long, in total, a request is retried (5 retries, 0.2 s doubling to 2 s: about 5 s), so that a
 * leader moving between brokers is ridden out while an unreachable cluster fails in seconds.
 */
const RETRIES = 5;
const retryDelay = (_client: unknown, _operation: string, attempt: number): number =>
	Math.min(100 * 2 ** attempt, 2_000);

export function brokerList(creds: Pick<KafkaCredentials, "brokers">): string {
	return creds.brokers.join(", ");
}

/** The client options for `creds` (SASL and TLS included); AWS MSK IAM is refused for now. */
export function clientOptions(creds: KafkaCredentials): BaseOptions {
	return {
		clientId: creds.clientId,
		bootstrapBrokers: creds.brokers,
		connectTimeout: 10_000,
		requestTimeout: 30_000,
		retries: RETRIES,
		retryDelay,
		tls: creds.tls ? { rejectUnauthorized: true } : undefined,
		sasl: saslOptions(creds),
	};
}

function saslOptions(creds: KafkaCredentials): SASLOptions | undefined {
	if (creds.sasl === "none") return undefined;
	if (creds.sasl === "aws-msk-iam") {
		// MSK IAM over OAUTHBEARER needs a SigV4-presigned token (aws-msk-iam-sasl-signer-js), a
		// package Ferry does not depend on yet.
		throw new KafkaError(
			`Kafka at ${brokerList(creds)}: AWS MSK IAM authentication is not supported yet; use SASL/SCRAM (or TLS without SASL) for this data source`,
			"UNSUPPORTED",
		);
	}
	if (!creds.user) {
		throw new KafkaError(
			`Kafka at ${brokerList(creds)}: SASL ${MECHANISMS[creds.sasl]} needs a user name; set the data source's user`,
			"AUTH_FAILED",
		);
	}
	return { mechanism: MECHANISMS[creds.sasl], username: creds.user, password: creds.password };
}

interface ErrorLeaf {
	code?: string;
	apiId?: string;
	message: string;
	serverErrorMessage?: string | null;
}

/** Every error in the tree below `err` (AggregateError members and causes), itself included. */
export function errorTree(err: unknown): ErrorLeaf[] {
	const out: ErrorLeaf[] = [];
	const walk = (e: unknown, depth: number): void => {
		if (!e || typeof e !== "object" || depth > 10) return;
		out.push(e as ErrorLeaf);
		for (const child of (e as { errors?: unknown[] }).errors ?? []) walk(child, depth + 1);
		walk((e as { cause?: unknown }).cause, depth + 1);
	};
	walk(err, 0);
	return out;
}

/** The first Kafka protocol error id (e.g. PRODUCER_FENCED) in the tree, if any. */
export function protocolErrorId(err: unknown, ids: readonly string[]): string | undefined {
	return errorTree(err).find((e) => e.apiId !== undefined && ids.includes(e.apiId))?.apiId;
}

const NETWORK_CODES = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH"];
// what the client reports when no broker answered (a timeout included: a dropped SYN, a black hole)
const CONNECTION_FAILURES = ["PLT_KFK_NETWORK", "PLT_KFK_MULTIPLE", "PLT_KFK_TIMEOUT"];
const AUTH_IDS = ["SASL_AUTHENTICATION_FAILED", "ILLEGAL_SASL_STATE"];
const DENIED_IDS = [
	"TOPIC_AUTHORIZATION_FAILED",
	"TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
	"CLUSTER_AUTHORIZATION_FAILED",
	"GROUP_AUTHORIZATION_FAILED",
];

/**
 * `err` as a KafkaError whose message says what Ferry was doing (`doing`, e.g. "stream s1: sending
 * a batch") and what to check. A KafkaError passes through. Fencing is not recognised here: only
 * the producer knows which stream a transactional id belongs to.
 */
export function explainKafkaError(err: unknown, creds: KafkaCredentials, doing: string): KafkaError {
	if (err instanceof KafkaError) return err;
	const tree = errorTree(err);
	const where = `Kafka at ${brokerList(creds)}`;
	const mechanism = creds.sasl === "none" ? "none" : creds.sasl.toUpperCase();
	if (tree.some((e) => e.code === "PLT_KFK_AUTHENTICATION" || (e.apiId && AUTH_IDS.includes(e.apiId)))) {
		return new KafkaError(
			`${doing}: ${where} refused the login${creds.user ? ` of user '${creds.user}'` : ""} (SASL ${mechanism}): check the user name, password and SASL mechanism of the data source`,
			"AUTH_FAILED",
			{ cause: err },
		);
	}
	if (tree.some((e) => e.apiId === "UNSUPPORTED_SASL_MECHANISM")) {
		return new KafkaError(
			`${doing}: ${where} does not offer SASL ${mechanism} on this listener: choose a mechanism the listener enables`,
			"AUTH_FAILED",
			{ cause: err },
		);
	}
	const denied = tree.find((e) => e.apiId && DENIED_IDS.includes(e.apiId));
	if (denied) {
		return new KafkaError(
			`${doing}: ${where} denied it (${denied.apiId}): grant the user${creds.user ? ` '${creds.user}'` : ""} the ACLs it needs (write and describe on the topics, write and describe on the transactional id, create if topics are to be created)`,
			"NOT_AUTHORIZED",
			{ cause: err },
		);
	}
	const network = tree.find((e) => e.code && NETWORK_CODES.includes(e.code));
	if (network || tree.every((e) => e.code && CONNECTION_FAILURES.includes(e.code))) {
		return new KafkaError(
			`${doing}: cannot reach any broker of ${brokerList(creds)}${network?.code ? ` (${network.code})` : ""}: check the host names and ports, that the brokers run and accept connections from here (firewall, security groups), and whether the listener expects TLS (${creds.tls ? "on" : "off"} for this data source)`,
			"BROKER_UNREACHABLE",
			{ cause: err },
		);
	}
	const last = tree.at(-1);
	const detail = last?.apiId
		? `${last.apiId}: ${last.serverErrorMessage ?? last.message}`
		: (last?.message ?? String(err));
	return new KafkaError(`${doing}: ${where} failed: ${detail}`, "SEND_FAILED", { cause: err });
}

export interface KafkaClusterInfo {
	clusterId: string;
	controllerId: number;
	brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
	/** The broker's auto.create.topics.enable, or null when the user may not read broker configs. */
	autoCreateTopics: boolean | null;
}

/** The connection test run when a Kafka data source is added: logs in and describes the cluster. */
export async function testKafkaConnection(creds: KafkaCredentials): Promise<KafkaClusterInfo> {
	const admin = new Admin({ ...clientOptions(creds), retries: 1 });
	try {
		const metadata = await admin.metadata({ topics: [] });
		return {
			clusterId: metadata.id,
			controllerId: metadata.controllerId,
			brokers: [...metadata.brokers].map(([nodeId, b]) => ({
				nodeId,
				host: b.host,
				port: b.port,
				rack: b.rack ?? null,
			})),
			autoCreateTopics: await brokerAutoCreatesTopics(admin, [...metadata.brokers.keys()]),
		};
	} catch (err) {
		throw explainKafkaError(err, creds, "connection test");
	} finally {
		await admin.close();
	}
}

/** The brokers' auto.create.topics.enable (asked of the first broker), null if it may not be read. */
export async function brokerAutoCreatesTopics(admin: Admin, brokerIds: number[]): Promise<boolean | null> {
	const broker = brokerIds[0];
	if (broker === undefined) return null;
	try {
		const [described] = await admin.describeConfigs({
			resources: [
				{ resourceType: ConfigResourceTypes.BROKER, resourceName: String(broker), configurationKeys: [AUTO_CREATE] },
			],
		});
		const value = described?.configs.find((c) => c.name === AUTO_CREATE)?.value;
		return value === undefined || value === null ? null : value === "true";
	} catch {
		return null;
	}
}

const AUTO_CREATE = "auto.create.topics.enable";
