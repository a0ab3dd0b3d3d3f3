import type { Echo, TransactionPart } from "./change.ts";
import { CaptureError } from "./errors.ts";
import type { CaptureStats } from "./reader-types.ts";

/** The binlog connection as far as flow control needs it. */
export interface PausableConnection {
	pause(): void;
	resume(): void;
	stream?: NodeJS.EventEmitter;
}

interface Waiter {
	resolve(result: IteratorResult<TransactionPart, undefined>): void;
	reject(err: unknown): void;
}

/**
 * The consumer side of a binlog reader and the flow of its connection: parts wait in a queue
 * until `next()` takes them; when `maxBufferedParts` wait, the connection is paused
 * (back-pressure) until the consumer takes one. Pauses are counted (`hold`, `release`), so one
 * pause never lifts another's. A connection silent for `stallTimeoutMs` (no data, no heartbeat)
 * counts as dead. A failure reaches the consumer after the parts already complete. The producer
 * side (zongji-reader.ts) hooks the connection, pushes parts and stops the connection (`stop`).
 */
export abstract class PartQueue {
	readonly stats: CaptureStats = { rows: 0, transactions: 0, events: 0, pauses: 0, echoes: 0, lateEchoes: 0 };
	private readonly queue: TransactionPart[] = [];
	private waiter: Waiter | null = null;
	protected failure: Error | null = null;
	protected closed = false;
	protected holds = 0;
	private backpressure = false;
	/** When data (or a resume) last came: the stall watchdog's clock. */
	protected lastData = Date.now();
	private rawPause: (() => void) | null = null;
	private rawResume: (() => void) | null = null;
	protected watchdog: NodeJS.Timeout | null = null;

	constructor(
		private readonly maxBufferedParts: number,
		/** Silence after which the connection counts as dead, ms. */
		private readonly stallTimeoutMs: number,
		/** The source, for messages (host:port). */
		protected readonly where: string,
	) {}

	/** Stops the connection (closing, or after a failure). */
	protected abstract stop(): Promise<void>;

	/** Hooks the binlog connection: ref-counted pause/resume, activity tracking. */
	protected hook(conn: PausableConnection): void {
		this.rawPause = conn.pause.bind(conn);
		this.rawResume = conn.resume.bind(conn);
		// zongji pauses the connection while it reads table metadata; back-pressure and our own
		// metadata look-ups pause it too. Counting holds keeps one from resuming another's pause.
		conn.pause = () => this.hold();
		conn.resume = () => this.release();
		conn.stream?.on("data", () => {
			this.lastData = Date.now();
		});
		this.watchdog = setInterval(() => this.checkStall(), 1_000);
		this.watchdog.unref();
	}

	private checkStall(): void {
		if (this.holds > 0 || this.closed || this.failure) return;
		const silent = Date.now() - this.lastData;
		if (silent > this.stallTimeoutMs) {
			this.fail(
				new CaptureError(
					`no data and no heartbeat from ${this.where} for ${Math.round(silent / 1000)} s: the binlog connection is considered dead`,
					"CAPTURE_STALLED",
				),
			);
		}
	}

	protected hold(): void {
		this.holds += 1;
		if (this.holds === 1) this.rawPause?.();
	}

	protected release(): void {
		if (this.holds === 0) return;
		this.holds -= 1;
		if (this.holds === 0) {
			this.lastData = Date.now();
			this.rawResume?.();
		}
	}

	[Symbol.asyncIterator](): this {
		return this;
	}

	next(): Promise<IteratorResult<TransactionPart, undefined>> {
		if (this.waiter)
			return Promise.reject(new Error("BinlogReader.next() called again before the previous call settled"));
		const part = this.queue.shift();
		if (part) {
			this.maybeResume();
			return Promise.resolve({ value: part, done: false });
		}
		if (this.failure) return Promise.reject(this.failure);
		if (this.closed) return Promise.resolve({ value: undefined, done: true });
		return new Promise((resolve, reject) => {
			this.waiter = { resolve, reject };
		});
	}

	async return(): Promise<IteratorResult<TransactionPart, undefined>> {
		await this.close();
		return { value: undefined, done: true };
	}

	async close(): Promise<void> {
		if (!this.closed) {
			this.closed = true;
			this.queue.length = 0;
			const waiter = this.waiter;
			this.waiter = null;
			waiter?.resolve({ value: undefined, done: true });
		}
		await this.stop();
	}

	private maybeResume(): void {
		if (this.backpressure && this.queue.length < this.maxBufferedParts) {
			this.backpressure = false;
			this.release();
		}
	}

	protected push(part: TransactionPart): void {
		if (this.closed || this.failure) return;
		// A run of transactions with nothing captured (other tables only) is one part: the latest
		// position is all the consumer needs from them.
		const last = this.queue[this.queue.length - 1];
		if (part.final && part.changes.length === 0 && last?.final && last.changes.length === 0) {
			const echo = mergedEcho(last.echo, part.echo);
			const { echo: _e, ...rest } = part;
			this.queue[this.queue.length - 1] = { ...rest, bytes: last.bytes + part.bytes, ...(echo ? { echo } : {}) };
			return;
		}
		const waiter = this.waiter;
		if (waiter) {
			this.waiter = null;
			waiter.resolve({ value: part, done: false });
			return;
		}
		this.queue.push(part);
		if (!this.backpressure && this.queue.length >= this.maxBufferedParts) {
			this.backpressure = true;
			this.stats.pauses += 1;
			this.hold();
		}
	}

	fail(err: Error): void {
		if (this.failure || this.closed) return;
		this.failure = err;
		const waiter = this.waiter;
		this.waiter = null;
		waiter?.reject(err);
		void this.stop();
	}
}

/**
 * Two empty final parts merged into one: "checkpoint" only if both were (the consumer need not
 * write a checkpoint for it alone); not an echo if either was not.
 */
function mergedEcho(a: Echo | undefined, b: Echo | undefined): Echo | undefined {
	if (!a || !b) return undefined;
	return a === "checkpoint" && b === "checkpoint" ? "checkpoint" : "data";
}
