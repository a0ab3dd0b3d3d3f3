/**
 * The state store as the control plane sees it: one table of items keyed by `pk` + `sk`, every
 * write conditional on the item's `version`. aws/state-store.ts implements it on DynamoDB (and
 * the local servers that speak its protocol); the scheduler's tests use an in-memory one.
 */

/** Every stored item: a partition key, a sort key and a version for optimistic concurrency. */
export interface Key {
	pk: string;
	sk: string;
}
export type Stored<T> = T & Key & { version: number };

/** Where a query starts (past the sort key `after`) and how many items each of its reads returns at most. */
export interface QueryPage {
	after?: string;
	pageSize?: number;
}

/** A write lost a race: someone else created or changed the item first. */
export class ConflictError extends Error {
	constructor(key: Key) {
		super(`state item ${key.pk}/${key.sk} was changed concurrently`);
		this.name = "ConflictError";
	}
}

export interface StateStore {
	get<T extends object>(key: Key): Promise<Stored<T> | undefined>;
	/** Writes a new item; throws ConflictError when one with the same key exists. */
	create<T extends object>(key: Key, value: T): Promise<Stored<T>>;
	/** Replaces an item if it still has `expectedVersion`; throws ConflictError otherwise. */
	replace<T extends object>(key: Key, value: T, expectedVersion: number): Promise<Stored<T>>;
	/** Reads, changes and writes back an item, retrying when a concurrent writer wins; `undefined` from `change` leaves it. */
	modify<T extends object>(
		key: Key,
		change: (current: Stored<T>) => T | undefined,
		attempts?: number,
	): Promise<Stored<T> | undefined>;
	delete(key: Key, expectedVersion?: number): Promise<void>;
	/**
	 * All items of a partition whose sort key starts with `prefix`, page by page, in sort-key order.
	 * `after` starts past that sort key; `pageSize` bounds each read, so a caller that stops early
	 * reads (and pays for) little more than what it used.
	 */
	query<T extends object>(pk: string, prefix?: string, page?: QueryPage): AsyncGenerator<Stored<T>>;
	list<T extends object>(pk: string, prefix?: string): Promise<Stored<T>[]>;
}

/** What the repositories need of a context: the store (a whole `Context` will do). */
export type HasStore = { store: StateStore };

/** Only the key attributes: callers often pass a whole stored item as its own key. */
export function keyOf(key: Key): Key {
	return { pk: key.pk, sk: key.sk };
}

/** The domain object of a stored item: what the repositories hand out and take back. */
export function withoutKey<T extends object>(item: Stored<T>): T {
	const { pk: _pk, sk: _sk, version: _v, ...rest } = item;
	return rest as unknown as T;
}

/** For writes that are done once by whoever comes first: losing the race is success. */
export function ignoreConflict(err: unknown): void {
	if (!(err instanceof ConflictError)) throw err;
}

/**
 * Writes a change to a stored item on the version it was read at. Returns the new stored item;
 * throws ConflictError when someone changed it since.
 */
export function update<T extends object>(store: StateStore, item: Stored<T>, change: Partial<T>): Promise<Stored<T>> {
	return store.replace<T>(item, { ...withoutKey(item), ...change }, item.version);
}
