import { logger } from "../observability.ts";
import {
	currentFormat,
	FORMAT_ATTRIBUTE,
	type FormatKind,
	formatOf,
	type StoredRecord,
	upgradeRecord,
} from "./format.ts";
import { itemKind } from "./keys.ts";
import { ConflictError, type Key, keyOf, type QueryPage, type StateStore, type Stored } from "./store.ts";

/**
 * The state store with items' formats (state/format.ts) kept out of the repositories' sight:
 * every write stamps its kind's current format; every read brings an older item up to it and
 * refuses a newer one (FormatTooNewError, naming the item). An item read in an older format is
 * written back in the current one at once (conditionally on its version; losing that race to
 * another writer is fine, whose write is in the current format too), so after an upgrade the
 * items a Ferry reads are soon all in its format, not only those it changes.
 */
export class FormattedStore implements StateStore {
	constructor(private readonly inner: StateStore) {}

	async get<T extends object>(key: Key): Promise<Stored<T> | undefined> {
		const raw = await this.inner.get<StoredRecord>(key);
		return raw && this.settle<T>(raw);
	}

	async create<T extends object>(key: Key, value: T): Promise<Stored<T>> {
		return this.view<T>(await this.inner.create<StoredRecord>(key, stamp(key, value)));
	}

	async replace<T extends object>(key: Key, value: T, expectedVersion: number): Promise<Stored<T>> {
		return this.view<T>(await this.inner.replace<StoredRecord>(key, stamp(key, value), expectedVersion));
	}

	async modify<T extends object>(
		key: Key,
		change: (current: Stored<T>) => T | undefined,
		attempts?: number,
	): Promise<Stored<T> | undefined> {
		const saved = await this.inner.modify<StoredRecord>(
			key,
			(raw) => {
				const next = change(this.view<T>(raw));
				return next === undefined ? undefined : stamp(key, next);
			},
			attempts,
		);
		return saved && this.view<T>(saved);
	}

	delete(key: Key, expectedVersion?: number): Promise<void> {
		return this.inner.delete(key, expectedVersion);
	}

	async *query<T extends object>(pk: string, prefix?: string, page?: QueryPage): AsyncGenerator<Stored<T>> {
		for await (const raw of this.inner.query<StoredRecord>(pk, prefix, page)) yield await this.settle<T>(raw);
	}

	list<T extends object>(pk: string, prefix?: string): Promise<Stored<T>[]> {
		return Array.fromAsync(this.query<T>(pk, prefix));
	}

	/** The item as the repositories see it: in the current format, without the format attribute. */
	private view<T extends object>(raw: Stored<StoredRecord>): Stored<T> {
		const { [FORMAT_ATTRIBUTE]: format, ...rest } = raw;
		const kind = itemKind(raw.pk);
		const upgraded = upgradeRecord(kind, formatOf(format, describe(raw)), rest, describe(raw));
		return upgraded as unknown as Stored<T>;
	}

	/** `view`, and an item in an older format written back in the current one. */
	private async settle<T extends object>(raw: Stored<StoredRecord>): Promise<Stored<T>> {
		const item = this.view<T>(raw);
		if (formatOf(raw[FORMAT_ATTRIBUTE], describe(raw)) === currentFormat(itemKind(raw.pk))) return item;
		const { pk: _pk, sk: _sk, version: _v, ...value } = item;
		try {
			return this.view<T>(await this.inner.replace<StoredRecord>(raw, stamp(raw, value), raw.version));
		} catch (err) {
			// the read stands without it: another writer won (in the current format too), or the write
			// failed (throttled) and the next read writes it back
			if (!(err instanceof ConflictError)) {
				logger.warn("could not write an upgraded state item back", {
					item: describe(raw),
					error: (err as Error).message,
				});
			}
			return item;
		}
	}
}

/** `value` with its kind's current format; a domain field of the same name would be lost, so it is refused. */
function stamp(key: Key, value: object): StoredRecord {
	const { pk: _pk, sk: _sk, version: _v, ...rest } = value as StoredRecord;
	if (FORMAT_ATTRIBUTE in rest) {
		throw new Error(`state item ${key.pk}/${key.sk}: '${FORMAT_ATTRIBUTE}' is reserved for the item's format`);
	}
	const kind: FormatKind = itemKind(key.pk);
	return { ...rest, [FORMAT_ATTRIBUTE]: currentFormat(kind) };
}

function describe(key: Key): string {
	const { pk, sk } = keyOf(key);
	return `state item ${pk}/${sk} (${itemKind(pk)})`;
}
