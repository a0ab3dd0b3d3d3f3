import { Duplex } from "node:stream";
import { format } from "node:util";
import {
	type BaseClient,
	type BaseClientOptions,
	type Endpoints,
	ForbiddenException,
	type ILogger,
	NotFoundException,
	PayloadTooLargeException,
	Producer,
	StatusChecker,
	UnauthorizedException,
} from "rocketmq-client-nodejs";
import definition from "rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition_pb.js";
import service from "rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_pb.js";
import type { RocketMqCredentials } from "../../model/datasource.ts";
import { logger } from "../../observability.ts";
import { SinkError } from "../errors.ts";

/*
 * What the RocketMQ producer and the connection test share: the official gRPC client
 * (rocketmq-client-nodejs, talking to a RocketMQ 5 proxy) set up from a data source's
 * credentials, a round trip that proves the proxy answers and accepts them, and the client's
 * failures as SinkErrors naming the endpoint (and topic).
 */

/** Every call to the proxy: the client's default (3 s) is short for a busy broker across a network. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The client's log lines through Ferry's logger; its info lines are routine (settings, routes). */
const clientLogger: ILogger = {
	info: (...args: unknown[]) => logger.debug(`rocketmq client: ${format(...args)}`),
	warn: (...args: unknown[]) => logger.warn(`rocketmq client: ${format(...args)}`),
	// what fails also reaches the caller as a SinkError; the client's own line is detail
	error: (...args: unknown[]) => logger.warn(`rocketmq client: ${format(...args)}`),
	debug: () => {},
};

/** The client options for a data source; without an access key the proxy is assumed to run without ACL. */
function clientOptions(creds: RocketMqCredentials): BaseClientOptions {
	if (creds.endpoint.startsWith("[")) {
		// Endpoints splits "host:port" at the first ':' (rocketmq-client-nodejs 1.0.8)
		throw new SinkError(
			`RocketMQ endpoint ${creds.endpoint}: the RocketMQ client cannot address an IPv6 literal; use a host name`,
			"UNSUPPORTED",
		);
	}
	return {
		endpoints: creds.endpoint,
		namespace: creds.namespace ?? "",
		sslEnabled: creds.tls,
		sessionCredentials: creds.accessKey ? { accessKey: creds.accessKey, accessSecret: creds.password } : undefined,
		requestTimeout: REQUEST_TIMEOUT_MS,
		logger: clientLogger,
	};
}

type TelemetryStream = ReturnType<BaseClient["createTelemetryStream"]>;

/**
 * A telemetry stream the client lets go (TelemetrySession.release, at shutdown or on a reconnect)
 * loses every listener, 'error' included, while its call may still fail: the proxy going away
 * then emits an 'error' nobody listens to, which crashes the process. This keeps a listener that
 * ignores it.
 */
export function guardTelemetryStream(stream: TelemetryStream): TelemetryStream {
	const ignore = () => {};
	const removeAll = stream.removeAllListeners.bind(stream);
	stream.removeAllListeners = (event?: string | symbol) => {
		removeAll(event);
		if (event === undefined || event === "error") stream.on("error", ignore);
		return stream;
	};
	return stream.on("error", ignore);
}

/**
 * The client's Producer, made to stop for good. Besides the telemetry streams above, two things
 * in its shutdown (1.0.8) misbehave when the proxy is gone: it first tells the proxy about every
 * endpoint it has routes for and stops at the first failure, before closing anything; and a
 * telemetry stream that failed shortly before reopens itself a second later (TelemetrySession's
 * timer outlives shutdown) and, failing again, every second after that, keeping the process alive.
 */
export class RocketMqProducer extends Producer {
	#down = false;

	override createTelemetryStream(endpoints: Endpoints): TelemetryStream {
		if (!this.#down) return guardTelemetryStream(super.createTelemetryStream(endpoints));
		// a stream that takes what is written and never answers
		const dead = new Duplex({ objectMode: true, read() {}, write: (_chunk, _encoding, done) => done() });
		return dead as unknown as TelemetryStream;
	}

	override async shutdown(): Promise<void> {
		this.#down = true;
		try {
			await super.shutdown();
		} catch {
			// the proxy did not answer: shut down again with nothing to tell it
			this.topicRouteCache.clear();
			await super.shutdown();
		}
	}
}

/**
 * A started producer that has talked to the proxy once. Topics are not declared up front: the
 * client looks each one up at its first send.
 */
export async function connect(creds: RocketMqCredentials): Promise<RocketMqProducer> {
	const producer = new RocketMqProducer(clientOptions(creds));
	await producer.startup();
	try {
		await probe(producer, creds);
	} catch (err) {
		await producer.shutdown();
		throw err;
	}
	return producer;
}

/** A topic name no one creates: asking for its route proves the proxy answers and accepts the credentials. */
const PROBE_TOPIC = "ferry-connection-test";

/**
 * One QueryRoute round trip. The client's own startup makes none for a producer without topics, so
 * an unreachable proxy or wrong credentials would only show at the first send.
 */
async function probe(client: BaseClient, creds: RocketMqCredentials): Promise<void> {
	const request = new service.QueryRouteRequest()
		.setTopic(new definition.Resource().setName(PROBE_TOPIC).setResourceNamespace(creds.namespace ?? ""))
		.setEndpoints(client.getEndpoints().toProtobuf());
	try {
		const response = await client.getRpcClientManager().queryRoute(client.getEndpoints(), request, REQUEST_TIMEOUT_MS);
		StatusChecker.check(response.getStatus()?.toObject());
	} catch (err) {
		// not found: the proxy answered and let us in; forbidden: it knows us but not for this topic
		if (err instanceof NotFoundException || err instanceof ForbiddenException) return;
		throw explain(err, creds.endpoint);
	}
}

/** A gRPC failure below the RocketMQ protocol (@grpc/grpc-js ServiceError). */
interface GrpcError {
	code: number;
	details?: string;
}
const isGrpcError = (err: unknown): err is GrpcError =>
	typeof (err as GrpcError | null)?.code === "number" && "details" in (err as object);

/** The gRPC status codes that mean the proxy cannot be talked to at all (UNAVAILABLE, DEADLINE_EXCEEDED). */
const UNREACHABLE = new Set([14, 4]);

/** A client failure as a SinkError naming the endpoint and, when it concerns one, the topic. */
export function explain(err: unknown, endpoint: string, topic?: string): SinkError {
	if (err instanceof SinkError) return err;
	const message = err instanceof Error ? err.message : String(err);
	if (err instanceof UnauthorizedException) {
		return new SinkError(
			`RocketMQ proxy ${endpoint} refused the credentials (${message}): check the access key and its secret`,
			"AUTH_FAILED",
			{ cause: err },
		);
	}
	if (topic !== undefined && err instanceof NotFoundException) {
		return new SinkError(
			`topic '${topic}' does not exist on RocketMQ proxy ${endpoint}: create it as a FIFO topic (message.type=FIFO)`,
			"TOPIC_MISSING",
			{ cause: err },
		);
	}
	if (topic !== undefined && err instanceof PayloadTooLargeException) {
		return new SinkError(
			`RocketMQ proxy ${endpoint} refused a message to '${topic}' as too large: ${message}`,
			"MESSAGE_TOO_LARGE",
			{
				cause: err,
			},
		);
	}
	// the client checks the topic's accepted types from its route before sending
	if (topic !== undefined && err instanceof TypeError && /message type not match/i.test(message)) {
		return new SinkError(
			`topic '${topic}' on RocketMQ proxy ${endpoint} is not a FIFO topic: Ferry sends FIFO messages (a message group per key keeps each key's order); create the topic with message.type=FIFO`,
			"TOPIC_TYPE",
			{ cause: err },
		);
	}
	if (isGrpcError(err) && UNREACHABLE.has(err.code)) {
		return new SinkError(
			`cannot reach the RocketMQ proxy at ${endpoint} (${err.details || message}): is it running, is this its gRPC port, and does TLS match?`,
			"BROKER_UNREACHABLE",
			{ cause: err },
		);
	}
	const what =
		topic === undefined ? `RocketMQ proxy ${endpoint}` : `sending to '${topic}' on RocketMQ proxy ${endpoint}`;
	return new SinkError(`${what} failed: ${message}`, "SEND_FAILED", { cause: err });
}
