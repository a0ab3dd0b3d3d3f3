/**
 * An async iterator read with a deadline: `next(ms)` answers "idle" when no item came within
 * `ms`, and the item still on its way is kept for the next call. The sink notices so that the
 * input paused (and commits what it holds, or sends a heartbeat) without dropping a read.
 */
export class IdleAwareIterator<T> {
	private pending: Promise<IteratorResult<T>> | null = null;

	constructor(private readonly iterator: AsyncIterator<T>) {}

	async next(ms: number): Promise<IteratorResult<T> | "idle"> {
		this.pending ??= this.iterator.next();
		let timer: NodeJS.Timeout | undefined;
		const idle = new Promise<"idle">((resolve) => {
			timer = setTimeout(() => resolve("idle"), ms);
		});
		try {
			const outcome = await Promise.race([this.pending, idle]);
			if (outcome !== "idle") this.pending = null;
			return outcome;
		} finally {
			clearTimeout(timer);
		}
	}
}
