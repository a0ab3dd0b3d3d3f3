import { setTimeout as sleep } from "node:timers/promises";

export interface ThrottleLimits {
	maxRowsPerSecond?: number;
	maxBytesPerSecond?: number;
	/** How much unused rate may be saved up, in seconds of it (default 1). */
	burstSeconds?: number;
}

class Bucket {
	private tokens: number;
	private last = performance.now();
	constructor(
		private readonly rate: number,
		private readonly capacity: number,
	) {
		// empty at first: each chunk has a throttle of its own, and a full bucket would let every
		// chunk start with a burst, so chunks smaller than the burst would not be held at all
		this.tokens = 0;
	}

	/** Takes `n` tokens, going into debt if needed; returns how long to sleep (ms) to repay it. */
	take(n: number): number {
		const now = performance.now();
		this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
		this.last = now;
		this.tokens -= n;
		return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
	}
}

/**
 * A token bucket on rows and bytes per second. `take` never holds data: the caller waits before
 * sending a batch, and while it waits the source stream is paused by backpressure. A batch larger
 * than the bucket is let through at once and paid for by sleeping afterwards (debt), so the
 * average rate holds whatever the batch size. One throttle can be shared by several chunks in a
 * process to cap them together.
 */
export class Throttle {
	private readonly rows: Bucket | null;
	private readonly bytes: Bucket | null;

	constructor(limits: ThrottleLimits) {
		const burst = limits.burstSeconds ?? 1;
		const bucket = (rate: number | undefined, name: string) => {
			if (rate === undefined) return null;
			if (!(rate > 0) || !Number.isFinite(rate)) throw new Error(`${name} must be a positive number, not ${rate}`);
			return new Bucket(rate, rate * burst);
		};
		this.rows = bucket(limits.maxRowsPerSecond, "maxRowsPerSecond");
		this.bytes = bucket(limits.maxBytesPerSecond, "maxBytesPerSecond");
	}

	/** A throttle for the given limits, or null when there are none. */
	static of(limits: ThrottleLimits): Throttle | null {
		return limits.maxRowsPerSecond === undefined && limits.maxBytesPerSecond === undefined
			? null
			: new Throttle(limits);
	}

	/** Accounts for `rows` rows of `bytes` bytes and sleeps as long as the limits require. */
	async take(rows: number, bytes: number, signal?: AbortSignal): Promise<void> {
		const wait = Math.max(this.rows?.take(rows) ?? 0, this.bytes?.take(bytes) ?? 0);
		if (wait > 0) await sleep(wait, undefined, { signal });
	}
}
