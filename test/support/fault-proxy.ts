import { createConnection, createServer, type Server, type Socket } from "node:net";

/*
 * A TCP proxy on loopback that puts network faults between Ferry and a server (a database, a
 * broker): the data sources of a test point at the proxy's port, the test's own checks at the
 * server itself. On command it cuts every connection (RST), black-holes traffic (nothing
 * forwarded either way, new connections accepted but never answered, no RST), delays data, limits
 * the bandwidth, or ends one direction of each connection; `restore` brings the network back.
 *
 * A black hole pauses the sockets rather than dropping data, as TCP would: what was sent while it
 * lasted arrives once it lifts, on the connections the peers did not give up meanwhile.
 */

export interface FaultTarget {
	host: string;
	port: number;
}

/** Which way a half-close ends: the client's data to the server, or the server's to the client. */
export type Direction = "to-server" | "to-client";

type Mode = "open" | "down" | "blackhole";

/** Bytes written to the far side at once under a bandwidth limit: the limit's granularity. */
const SLICE_BYTES = 4096;

/** One direction of a connection: chunks from `from` written to `to` after the delay and within the bandwidth. */
class Pipe {
	private readonly queue: { at: number; data: Buffer }[] = [];
	private timer: NodeJS.Timeout | null = null;
	/** When the bandwidth allows the next slice. */
	private nextSendAt = 0;
	/** When the last chunk may go at the earliest (latency keeps the order). */
	private lastAt = 0;
	private ended = false;

	constructor(
		private readonly proxy: FaultProxy,
		private readonly from: Socket,
		private readonly to: Socket,
		/** Counts what went through. */
		private readonly sent: (bytes: number) => void = () => {},
	) {
		from.on("data", (data: Buffer) => {
			if (this.ended) return;
			const at = Math.max(Date.now() + proxy.latencyMs, this.lastAt);
			this.lastAt = at;
			this.queue.push({ at, data });
			// back-pressure: the sender waits (in its kernel buffers) while much is queued here
			if (this.queued() > 1 << 20) from.pause();
			this.pump();
		});
		from.on("end", () => this.end());
		to.on("drain", () => this.pump());
	}

	private queued(): number {
		return this.queue.reduce((n, c) => n + c.data.length, 0);
	}

	/** Ends this direction once what is queued went out (a FIN to `to`). */
	end(): void {
		this.ended = true;
		this.pump();
	}

	/** Ends this direction now, dropping what is queued. */
	endNow(): void {
		this.ended = true;
		this.queue.length = 0;
		this.pump();
	}

	pump(): void {
		if (this.timer) {
			clearTimeout(this.timer);
			this.timer = null;
		}
		if (this.to.destroyed) return;
		if (this.proxy.mode === "blackhole") {
			this.from.pause();
			return;
		}
		while (this.queue.length > 0) {
			if (this.to.writableNeedDrain) return;
			const now = Date.now();
			const head = this.queue[0] as { at: number; data: Buffer };
			const wait = Math.max(head.at, this.nextSendAt) - now;
			if (wait > 0) {
				this.timer = setTimeout(() => this.pump(), wait);
				return;
			}
			const bps = this.proxy.bytesPerSecond;
			let slice = head.data;
			if (bps > 0 && slice.length > SLICE_BYTES) {
				head.data = slice.subarray(SLICE_BYTES);
				slice = slice.subarray(0, SLICE_BYTES);
			} else {
				this.queue.shift();
			}
			if (bps > 0) this.nextSendAt = now + (slice.length / bps) * 1000;
			this.sent(slice.length);
			this.to.write(slice);
		}
		if (this.ended) {
			if (!this.to.writableEnded) this.to.end();
			return;
		}
		if (this.from.isPaused() && !this.from.destroyed) this.from.resume();
	}

	stop(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
	}
}

/** A client's connection and the proxy's connection to the target on its behalf. */
interface Link {
	client: Socket;
	server: Socket | null;
	toServer: Pipe | null;
	toClient: Pipe | null;
}

export class FaultProxy {
	mode: Mode = "open";
	latencyMs = 0;
	/** 0: no limit. */
	bytesPerSecond = 0;
	/** Connections accepted since the start. */
	accepted = 0;
	/** Bytes forwarded from clients to the server since the start. */
	bytesToServer = 0;
	private readonly links = new Set<Link>();

	private constructor(
		private readonly server: Server,
		private readonly target: FaultTarget,
		readonly port: number,
	) {}

	/** A proxy to `target` listening on 127.0.0.1:`port` (0: a free port). */
	static async start(target: FaultTarget, port = 0): Promise<FaultProxy> {
		let proxy: FaultProxy | undefined;
		const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => proxy?.accept(client));
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(port, "127.0.0.1", () => resolve());
		});
		const address = server.address();
		if (!address || typeof address === "string") throw new Error("the fault proxy has no TCP address");
		proxy = new FaultProxy(server, target, address.port);
		return proxy;
	}

	/** Connections open now. */
	get connections(): number {
		return this.links.size;
	}

	private accept(client: Socket): void {
		this.accepted += 1;
		if (this.mode === "down") {
			client.resetAndDestroy();
			return;
		}
		const link: Link = { client, server: null, toServer: null, toClient: null };
		this.links.add(link);
		client.on("error", () => this.drop(link));
		client.on("close", () => this.settle(link));
		// a black hole accepts (the kernel would have completed the handshake) but never answers
		client.pause();
		if (this.mode === "open") this.connect(link);
	}

	private connect(link: Link): void {
		const server = createConnection({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
		server.setNoDelay(true);
		link.server = server;
		server.on("error", () => this.drop(link));
		server.on("close", () => this.settle(link));
		link.toServer = new Pipe(this, link.client, server, (n) => {
			this.bytesToServer += n;
		});
		link.toClient = new Pipe(this, server, link.client);
		server.on("connect", () => link.client.resume());
	}

	/**
	 * A side closed: once both have (a graceful close travels as FINs through the pipes), the
	 * link is forgotten. A client that closes before its server connection was made takes it along.
	 */
	private settle(link: Link): void {
		if (link.client.destroyed && (!link.server || link.server.destroyed || link.server.connecting)) this.drop(link);
	}

	/** Both sockets of a link closed with an RST to each peer still there (an error on one side, or a cut). */
	private drop(link: Link): void {
		if (!this.links.delete(link)) return;
		link.toServer?.stop();
		link.toClient?.stop();
		for (const s of [link.client, link.server]) {
			if (s && !s.destroyed) {
				if (s.connecting) s.destroy();
				else s.resetAndDestroy();
			}
		}
	}

	/**
	 * Resets every open connection (each peer gets an RST). With `hold`, new connections are reset
	 * too until `restore`: the network stays down.
	 */
	cut(options: { hold?: boolean } = {}): number {
		const n = this.links.size;
		for (const link of [...this.links]) this.drop(link);
		if (options.hold) this.mode = "down";
		return n;
	}

	/** Nothing is forwarded either way and new connections are accepted but never answered; no RST. */
	blackhole(): void {
		this.mode = "blackhole";
		for (const link of this.links) {
			link.client.pause();
			link.server?.pause();
			link.toServer?.pump();
			link.toClient?.pump();
		}
	}

	/** Delays every chunk by `ms` each way (order kept). */
	latency(ms: number): void {
		this.latencyMs = ms;
	}

	/** Limits each direction of each connection to `bytesPerSecond` (0: no limit). */
	bandwidth(bytesPerSecond: number): void {
		this.bytesPerSecond = bytesPerSecond;
	}

	/**
	 * Ends one direction of every open connection (a FIN that way; data queued for it dropped):
	 * `to-server` as if the client had shut down its writing side, `to-client` as if the server had.
	 * The other direction still flows until a peer closes.
	 */
	halfClose(direction: Direction): void {
		for (const link of this.links) (direction === "to-server" ? link.toServer : link.toClient)?.endNow();
	}

	/** The network back: no delay, no limit, forwarding resumed, held new connections made. */
	restore(): void {
		this.mode = "open";
		this.latencyMs = 0;
		this.bytesPerSecond = 0;
		for (const link of this.links) {
			if (!link.server) {
				this.connect(link);
				continue;
			}
			link.toServer?.pump();
			link.toClient?.pump();
		}
	}

	async close(): Promise<void> {
		this.cut();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}
}
