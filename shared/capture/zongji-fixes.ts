/**
 * Fixes for bugs in @vlasky/zongji 0.9.0 (pinned in package.json) that cannot be worked around
 * from outside the library, applied once when this module is imported (zongji-reader.ts imports it).
 * Everything else zongji gets wrong is corrected in our own code (values.ts, zongji-reader.ts), which is
 * where such fixes belong; this file patches only what information would otherwise be lost before
 * our code sees it. Each patch names the upstream bug, keeps the original function, and has a
 * test that shows the bug with the patch removed (test/capture/zongji-fixes.test.ts).
 *
 * How the patch reaches zongji's internals: the package's `exports` map exposes only its main
 * module, so the event classes are loaded by file URL next to the resolved main module. Node keys
 * ES modules by URL, so this is the very module instance zongji itself uses.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** zongji's TableMap event class, as far as the patch needs it. */
interface TableMapInternals {
	columnTypes: number[];
	_effectiveColumnType(this: TableMapInternals, index: number): number;
	_readOptionalMetadata(this: TableMapInternals, parser: unknown, zongji: { isMariaDb?: boolean } | undefined): void;
}

const MYSQL_TYPE_BLOB = 252;
const MYSQL_TYPE_GEOMETRY = 255;

/** The URL of one of zongji's internal modules (lib/<file>), the very instance zongji uses. */
export function zongjiLibUrl(file: string): string {
	let main: string;
	try {
		main = import.meta.resolve("@vlasky/zongji");
	} catch {
		main = pathToFileURL(createRequire(import.meta.url).resolve("@vlasky/zongji")).href;
	}
	return new URL(`./lib/${file}`, main).href;
}

const events = (await import(zongjiLibUrl("binlog_event.js"))) as {
	TableMap: { prototype: TableMapInternals };
};
const tableMapPrototype = events.TableMap.prototype;

/**
 * Bug: with binlog_row_metadata=FULL on MariaDB, a GEOMETRY column shifts the column character
 * sets of every later string column by one (a VARCHAR arrives as a Buffer, a BLOB as a garbled
 * string, a latin1 column as UTF-8), because MariaDB counts GEOMETRY among the "character"
 * columns of the TABLE_MAP optional metadata (its Field_geom derives from Field_blob and carries
 * a charset entry, binary), while zongji classifies columns the MySQL way, where GEOMETRY has
 * no charset entry (lib/binlog_event.js, CHARACTER_METADATA_TYPES, used by
 * TableMap#_readOptionalMetadata). Without the fix the charset list is mapped onto the wrong
 * columns and the last column's entry is dropped, so it cannot be repaired afterwards.
 *
 * Fix: while a MariaDB TableMap's optional metadata is read, GEOMETRY columns are classified as
 * BLOB (a character type), which is what MariaDB does. Their GEOMETRY_TYPE entries are then not
 * mapped, which only changes zongji's cosmetic COLUMN_TYPE ('geometry' instead of 'point').
 */
const originalReadOptionalMetadata = tableMapPrototype._readOptionalMetadata;

function readOptionalMetadataMariaDbGeometry(
	this: TableMapInternals,
	parser: unknown,
	zongji: { isMariaDb?: boolean } | undefined,
): void {
	if (!zongji?.isMariaDb || !this.columnTypes.includes(MYSQL_TYPE_GEOMETRY)) {
		originalReadOptionalMetadata.call(this, parser, zongji);
		return;
	}
	const effectiveType = tableMapPrototype._effectiveColumnType;
	this._effectiveColumnType = function (index: number): number {
		const type = effectiveType.call(this, index);
		return type === MYSQL_TYPE_GEOMETRY ? MYSQL_TYPE_BLOB : type;
	};
	try {
		originalReadOptionalMetadata.call(this, parser, zongji);
	} finally {
		// back to the prototype's method (buildColumnSchemas must still see GEOMETRY)
		delete (this as Partial<TableMapInternals>)._effectiveColumnType;
	}
}

/**
 * Bug: a Query event's status variables (the source session's sql_mode, time zone, character
 * sets, flags such as explicit_defaults_for_timestamp) are binary, but zongji decodes them as
 * UTF-8 text (lib/binlog_event.js, Query constructor: `parser.parseString(statusVarsLength)`),
 * so any byte above 0x7f (a collation id such as 224, a sql_mode or flags bit in a high byte)
 * becomes U+FFFD and the values cannot be read back.
 *
 * Fix: the parser's string reads remember the bytes they decoded, and the Query event keeps the
 * bytes of its status variables as `statusVarsBytes` when its constructor stores `statusVars`
 * (the read happens synchronously right before that assignment).
 */
const readerModule = (await import(zongjiLibUrl("reader.js"))) as {
	Parser: { prototype: { parseString(length?: number): string; parseBuffer(length?: number): Buffer } };
};
const parserPrototype = readerModule.Parser.prototype;
const originalParseString = parserPrototype.parseString;
const queryPrototype = (events as unknown as { Query: { prototype: object } }).Query.prototype;
let lastStringBytes: Buffer | undefined;

function parseStringKeepingBytes(this: typeof parserPrototype, length?: number): string {
	const bytes = this.parseBuffer(length);
	lastStringBytes = bytes;
	return bytes.toString("utf8");
}

const STATUS_VARS = Symbol("statusVars");
const statusVarsAccessor: PropertyDescriptor = {
	configurable: true,
	get(this: Record<symbol, unknown>) {
		return this[STATUS_VARS];
	},
	set(this: Record<symbol | string, unknown>, value: string) {
		this[STATUS_VARS] = value;
		this.statusVarsBytes = lastStringBytes;
	},
};

/** The patches, so a test can take one off to show the bug it fixes. */
export const zongjiFixes = {
	mariadbGeometryCharset: {
		upstream: "@vlasky/zongji 0.9.0 lib/binlog_event.js: GEOMETRY not counted as a character column on MariaDB",
		apply(): void {
			tableMapPrototype._readOptionalMetadata = readOptionalMetadataMariaDbGeometry;
		},
		remove(): void {
			tableMapPrototype._readOptionalMetadata = originalReadOptionalMetadata;
		},
		get applied(): boolean {
			return tableMapPrototype._readOptionalMetadata === readOptionalMetadataMariaDbGeometry;
		},
	},
	queryStatusVarsBytes: {
		upstream: "@vlasky/zongji 0.9.0 lib/binlog_event.js: Query status variables decoded as UTF-8 text",
		apply(): void {
			parserPrototype.parseString = parseStringKeepingBytes;
			Object.defineProperty(queryPrototype, "statusVars", statusVarsAccessor);
		},
		remove(): void {
			parserPrototype.parseString = originalParseString;
			delete (queryPrototype as { statusVars?: unknown }).statusVars;
		},
		get applied(): boolean {
			return parserPrototype.parseString === parseStringKeepingBytes;
		},
	},
};

zongjiFixes.mariadbGeometryCharset.apply();
zongjiFixes.queryStatusVarsBytes.apply();
