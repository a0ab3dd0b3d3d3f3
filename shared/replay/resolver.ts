import type { RowDataPacket } from "mysql2";
import type { RowChange } from "../capture/change.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import type { ColumnMapping, TableMapping, TableName } from "../model/rules.ts";
import { tableKey } from "../schema/snapshot.ts";
import { ReplayError } from "./replay-error.ts";
import { buildReplayTable, type DestinationTable, describeDestination, type ReplayTable } from "./replay-table.ts";

/**
 * The replayed tables as both ends have them now, so that no column's values are dropped
 * without a rule saying so.
 *
 * A stream's mapping of a table is its idea of the table, kept up to date by the DDL it
 * replays. It can fall behind what the two ends have: a DDL statement skipped after a ticket and
 * made at the other end by hand, DDL a person ran at both ends. So:
 * - a column a row image carries that the mapping lacks is written when the target has the
 *   column the rules name it (the mapping is extended and kept, `onMappingChanged`); it is left
 *   out when the rules' column selection leaves it out and the target has no such column, or
 *   when the captured table no longer has it (an image older than a DROP COLUMN); otherwise the
 *   stream stops (UNREPLICATED_COLUMN): its values would be lost;
 * - a mapped column the target lacks is dropped from the mapping when the captured table lacks
 *   it too (gone at both ends), else the stream stops (DESTINATION_COLUMN_MISSING);
 * - an image spelling a mapped column in another letter case renames the mapping's column
 *   (MySQL compares column names without regard to case, row images carry the server's spelling).
 * A mapped column an image lacks is one the event predates (literals.ts `written`).
 */

/** What the stream's rules say of a captured column: its name at the target, and whether the rules select it. */
export interface ColumnRule {
	target: string;
	selected: boolean;
}

export type ColumnRules = (table: TableName, column: string) => ColumnRule;

export interface ResolverOptions {
	/** The mapping of a captured table, or null/undefined if the table is not replicated. */
	mapping: (table: TableName) => TableMapping | null | undefined | Promise<TableMapping | null | undefined>;
	/** The server the changes were captured from, to read a captured table's columns as they are now. */
	capture?: Pool | Connection;
	/** The rules' say on a column the mapping lacks (default: the same name, selected). */
	columnRule?: ColumnRules;
	/** A mapping changed to match both ends, for the caller to keep. */
	onMappingChanged?: (mapping: TableMapping) => Promise<void> | void;
}

const lower = (s: string) => s.toLowerCase();
const SAME_NAME: ColumnRules = (_table, column) => ({ target: column, selected: true });

export class ReplayTables {
	private readonly cache = new Map<string, Promise<ReplayTable | null>>();
	/** Per captured table: image columns left out knowingly (see the module comment). */
	private readonly leftOut = new Map<string, Set<string>>();
	/** Per replay table: the source column names it maps, as spelled in the mapping. */
	private readonly mapped = new WeakMap<ReplayTable, Set<string>>();

	constructor(
		private readonly options: ResolverOptions,
		/** The target connection, outside any transaction. */
		private readonly target: () => Connection,
	) {}

	/** Forgets every table (after DDL). */
	clear(): void {
		this.cache.clear();
		this.leftOut.clear();
	}

	resolve(table: TableName): Promise<ReplayTable | null> {
		const k = tableKey(table);
		let p = this.cache.get(k);
		if (!p) {
			p = (async () => {
				const mapping = await this.options.mapping(table);
				return mapping ? this.describe(mapping) : null;
			})();
			p.catch(() => this.cache.delete(k));
			this.cache.set(k, p);
		}
		return p;
	}

	/**
	 * Makes each resolved table cover the columns its changes' images carry (see the module
	 * comment); `resolved` is updated with the tables as they now are.
	 */
	async cover(
		changes: readonly RowChange[],
		resolved: Map<string, ReplayTable | null>,
		/** Each change's `tableKey`, when the caller has them already. */
		tableKeys?: readonly string[],
	): Promise<void> {
		let unknown: Map<string, Set<string>> | undefined;
		// Per table, looked up once: the loop runs once per row change.
		const seen = new Map<string, { known: Set<string>; left: Set<string> | undefined } | null>();
		for (let i = 0; i < changes.length; i++) {
			const c = changes[i] as RowChange;
			const k = tableKeys?.[i] ?? tableKey(c.table);
			let names = seen.get(k);
			if (names === undefined) {
				const table = resolved.get(k);
				names = table ? { known: this.mappedNames(table), left: this.leftOut.get(k) } : null;
				seen.set(k, names);
			}
			if (!names) continue;
			const { known, left } = names;
			for (const image of [c.before, c.after]) {
				if (!image) continue;
				for (const name in image) {
					if (known.has(name) || left?.has(name)) continue;
					unknown ??= new Map();
					const names = unknown.get(k) ?? new Set<string>();
					unknown.set(k, names.add(name));
				}
			}
		}
		if (!unknown) return;
		for (const [k, names] of unknown) {
			const table = resolved.get(k) as ReplayTable;
			const extended = await this.extend(k, table, [...names]);
			resolved.set(k, extended);
			this.cache.set(k, Promise.resolve(extended));
		}
	}

	private mappedNames(table: ReplayTable): Set<string> {
		let names = this.mapped.get(table);
		if (!names) {
			names = new Set(table.mapping.columns.map((c) => c.source));
			this.mapped.set(table, names);
		}
		return names;
	}

	private async describe(mapping: TableMapping): Promise<ReplayTable> {
		const destination = await this.destination(mapping);
		const has = new Set(destination.columns.map((c) => lower(c.name)));
		const gone = mapping.columns.filter((c) => !has.has(lower(c.destination)));
		if (gone.length === 0) return buildReplayTable(mapping, destination);
		const captured = await this.capturedColumns(mapping.source);
		const missing = gone.find((c) => !captured || captured.has(lower(c.source)));
		if (missing) {
			throw new ReplayError(
				`${qualifiedName(mapping.destination)} has no column ${missing.destination}, into which replay writes the values of ${missing.source} of ${qualifiedName(mapping.source)}: add the column there, then retry`,
				"DESTINATION_COLUMN_MISSING",
			);
		}
		return this.changed({ ...mapping, columns: mapping.columns.filter((c) => !gone.includes(c)) }, destination);
	}

	private async extend(k: string, table: ReplayTable, names: string[]): Promise<ReplayTable> {
		const mapping = table.mapping;
		const destination = await this.destination(mapping);
		const columns: ColumnMapping[] = [...mapping.columns];
		const taken = new Set(columns.map((c) => lower(c.destination)));
		let left = this.leftOut.get(k);
		let captured: Set<string> | null | undefined;
		const rule = this.options.columnRule ?? SAME_NAME;
		for (const name of names) {
			const respelled = columns.findIndex((c) => lower(c.source) === lower(name));
			if (respelled >= 0) {
				columns[respelled] = { ...(columns[respelled] as ColumnMapping), source: name };
				continue;
			}
			const wanted = rule(mapping.source, name);
			const target = destination.columns.find((c) => lower(c.name) === lower(wanted.target));
			if (target && !target.generated && !taken.has(lower(target.name))) {
				columns.push({ source: name, destination: target.name });
				taken.add(lower(target.name));
				continue;
			}
			if (captured === undefined) captured = await this.capturedColumns(mapping.source);
			if (!wanted.selected || (captured && !captured.has(lower(name)))) {
				left ??= new Set();
				this.leftOut.set(k, left.add(name));
				continue;
			}
			throw new ReplayError(
				`${table.label}: the row images carry column ${name}, for which ${qualifiedName(mapping.destination)} has no column ${wanted.target}, so its values would be lost: add the column there, then retry`,
				"UNREPLICATED_COLUMN",
			);
		}
		if (columns.length === mapping.columns.length && columns.every((c, i) => c === mapping.columns[i])) return table;
		return this.changed({ ...mapping, columns }, destination);
	}

	private async changed(mapping: TableMapping, destination: DestinationTable): Promise<ReplayTable> {
		const table = buildReplayTable(mapping, destination);
		await this.options.onMappingChanged?.(mapping);
		return table;
	}

	private async destination(mapping: TableMapping): Promise<DestinationTable> {
		const destination = await describeDestination(this.target(), mapping.destination);
		if (!destination) {
			throw new ReplayError(
				`destination table ${qualifiedName(mapping.destination)} does not exist (replaying ${qualifiedName(mapping.source)}): create it first, e.g. with schema migration`,
				"DESTINATION_TABLE_MISSING",
			);
		}
		return destination;
	}

	/** The captured table's column names (lower case) as they are now; null when the capture server is not known. */
	private async capturedColumns(table: TableName): Promise<Set<string> | null> {
		const capture = this.options.capture;
		if (!capture) return null;
		const [rows] = await capture.query<RowDataPacket[]>(
			"SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			[table.database, table.table],
		);
		return new Set(rows.map((r) => lower(String(r.name))));
	}
}
