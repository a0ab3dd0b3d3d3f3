/**
 * A cache of zongji's TABLE_MAP metadata parsing, for speed only. A source writes one TABLE_MAP
 * event before every rows event, so a table is described again for every transaction that
 * touches it; under binlog_row_metadata=FULL zongji parses the whole optional metadata block
 * (column names, character sets, signedness, ENUM/SET values) each time, about a tenth of
 * capture's CPU in bench/replay.ts's profile (docs/decisions/2026-12-06-speed.md).
 *
 * Exact by construction: the parse is a pure function of the bytes from the column metadata to
 * the event's end (the checksum left out), of what the constructor read before them (table id,
 * names, column types), of the server flavour and of the optional-metadata reader installed
 * (zongji-fixes.ts may swap it). A TABLE_MAP equal to the last one of its table id in all of
 * these gets a copy of the fields the first parse produced; anything else is parsed as before.
 *
 * How it hooks in: TableMap's constructor calls `_readColumnMetadata` and then
 * `_readOptionalMetadata`. On a hit, the first fills in the cached fields and leaves the parser
 * just before the null bitmap's last bytes' end, so that the second reads the bitmap (which it
 * discards) and finds nothing after it. On a miss, the fields the two calls add are taken when
 * zongji first calls one of the event's methods after the constructor (`hasSelfDescribingMetadata`,
 * `buildColumnSchemas` or `updateColumnInfo`, the one that changes `columnTypes` and
 * `columnsMetadata` in place). Only zongji instances registered with
 * `cacheTableMaps` are served (the reader registers its own).
 */
import { zongjiLibUrl } from "./zongji-fixes.ts";

interface ZongjiLike {
	tableMap: object;
	useChecksum?: boolean;
	isMariaDb?: boolean;
}

interface Parser {
	_buffer: Buffer;
	_offset: number;
	_packetEnd: number;
}

interface TableMapLike {
	tableMap: object;
	tableId: number;
	schemaName: string;
	tableName: string;
	columnCount: number;
	columnTypes: number[];
	_readOptionalMetadata: unknown;
	[field: string]: unknown;
}

interface TableMapPrototype {
	_readColumnMetadata(this: TableMapLike, parser: Parser): void;
	hasSelfDescribingMetadata(this: TableMapLike): boolean;
	buildColumnSchemas(this: TableMapLike): unknown;
	updateColumnInfo(this: TableMapLike): void;
}

interface Entry {
	schemaName: string;
	tableName: string;
	columnTypes: number[];
	reader: unknown;
	mariadb: boolean;
	bytes: Buffer;
	/** The fields the parse added, as the constructor left them; absent until zongji looked at the event. */
	fields?: [string, unknown][];
}

/** Table ids remembered per zongji instance. */
const MAX_ENTRIES = 10_000;

/** A miss waiting for its fields: the entry, and the event's own fields before the parse. */
const PENDING = Symbol("tableMapPending");

const events = (await import(zongjiLibUrl("binlog_event.js"))) as { TableMap: { prototype: TableMapPrototype } };
const prototype = events.TableMap.prototype;
const originalReadColumnMetadata = prototype._readColumnMetadata;

/** How often the cache served a TABLE_MAP and how often it parsed one (for tests and benchmarks). */
export const tableMapCacheStats = { hits: 0, misses: 0 };

/** Per registered zongji (by its tableMap object, which every TableMap event holds): entries by table id. */
const caches = new WeakMap<object, { zongji: ZongjiLike; entries: Map<number, Entry> }>();

/** Serves this zongji instance's TABLE_MAP events from the cache. */
export function cacheTableMaps(zongji: ZongjiLike): void {
	if (!caches.has(zongji.tableMap)) caches.set(zongji.tableMap, { zongji, entries: new Map() });
}

/** A copy that shares nothing mutable with the cached value (arrays and plain objects; Buffers are never written). */
function copy(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(copy);
	if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
		const out: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(value)) out[k] = copy(v);
		return out;
	}
	return value;
}

/** Frozen through arrays and plain objects: shared by every event the cache serves, so a write throws. */
function frozen<T>(value: T): T {
	if (
		Array.isArray(value) ||
		(value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
	) {
		for (const v of Object.values(value as object)) frozen(v);
		Object.freeze(value);
	}
	return value;
}

/**
 * The one field zongji changes after the constructor (`updateColumnInfo` deletes the real types
 * from it): each served event gets its own copy. The others are only read, and shared frozen.
 */
const MUTATED = "columnsMetadata";

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

function readColumnMetadata(this: TableMapLike, parser: Parser): void {
	const cache = caches.get(this.tableMap);
	if (!cache) {
		originalReadColumnMetadata.call(this, parser);
		return;
	}
	const end = parser._packetEnd - (cache.zongji.useChecksum ? 4 : 0);
	const bytes = parser._buffer.subarray(parser._offset, end);
	const columnTypes = this.columnTypes;
	const mariadb = !!cache.zongji.isMariaDb;
	const reader = this._readOptionalMetadata;
	const hit = cache.entries.get(this.tableId);
	if (
		hit?.fields &&
		hit.schemaName === this.schemaName &&
		hit.tableName === this.tableName &&
		sameNumbers(hit.columnTypes, columnTypes) &&
		hit.reader === reader &&
		hit.mariadb === mariadb &&
		hit.bytes.equals(bytes)
	) {
		tableMapCacheStats.hits += 1;
		for (const [k, v] of hit.fields) this[k] = k === MUTATED ? copy(v) : v;
		// _readOptionalMetadata reads the null bitmap, then stops at the end: nothing else to parse
		parser._offset = end - Math.floor((this.columnCount + 7) / 8);
		return;
	}
	tableMapCacheStats.misses += 1;
	const entry: Entry = {
		schemaName: this.schemaName,
		tableName: this.tableName,
		columnTypes: [...columnTypes],
		reader,
		mariadb,
		bytes: Buffer.from(bytes),
	};
	cache.entries.delete(this.tableId); // re-inserted last: the map's order is least recently parsed first
	cache.entries.set(this.tableId, entry);
	// Table ids change with every ALTER (and table cache eviction): forget the oldest beyond the bound.
	if (cache.entries.size > MAX_ENTRIES) cache.entries.delete(cache.entries.keys().next().value as number);
	(this as unknown as Record<symbol, unknown>)[PENDING] = { entry, before: new Set(Object.keys(this)) };
	originalReadColumnMetadata.call(this, parser);
}

/** Takes a miss's fields into its entry, before anything reads or changes them. */
function settle(event: TableMapLike): void {
	const self = event as unknown as Record<symbol, { entry: Entry; before: Set<string> } | undefined>;
	const pending = self[PENDING];
	if (!pending) return;
	delete self[PENDING];
	pending.entry.fields = Object.keys(event)
		.filter((k) => !pending.before.has(k))
		.map((k) => [k, k === MUTATED ? copy(event[k]) : frozen(copy(event[k]))]);
}

// Whichever of zongji's calls comes first after the constructor settles the event; the one
// that changes fields in place (updateColumnInfo) among them.
for (const method of ["hasSelfDescribingMetadata", "buildColumnSchemas", "updateColumnInfo"] as const) {
	const original = prototype[method] as (this: TableMapLike, ...args: unknown[]) => unknown;
	(prototype as unknown as Record<string, unknown>)[method] = function (this: TableMapLike, ...args: unknown[]) {
		settle(this);
		return original.apply(this, args);
	};
}

prototype._readColumnMetadata = readColumnMetadata;
