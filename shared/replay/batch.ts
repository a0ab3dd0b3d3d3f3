import type { ResultSetHeader, RowDataPacket } from "mysql2";
import type { RowChange, RowImage } from "../capture/change.ts";
import {
	completeImage,
	conflictValue,
	exactKey,
	imageValue,
	keyCondition,
	keyRecord,
	lit,
	rowTuple,
	writesEnumErrorValue,
} from "./literals.ts";
import { ReplayError } from "./replay-error.ts";
import type { ReplayColumn, ReplayTable } from "./replay-table.ts";
import {
	formatStatement,
	type Inconsistency,
	type ReplayMode,
	rowStatements,
	type StatementCheck,
} from "./statements.ts";

/**
 * Batches: one table's statements of a destination transaction, compacted per row key
 * (`TableBatch`) or applied change by change (`OrderedBatch`), as text with the checks exact mode
 * reports from their results.
 */

/** One statement of a batch, as text, with what its result must show. */
export interface BatchItem {
	sql: string;
	/** Inspects the statement's result; returns the inconsistencies it shows. */
	check?: (result: unknown) => Inconsistency[];
	/**
	 * It writes ENUM's error value where strict mode refuses it: it runs under the lax mode
	 * (shared/db/session.ts `laxRowWriteSqlMode`), for itself alone (committer.ts). A row needing it
	 * never shares a statement with rows that do not: they keep strict mode.
	 */
	lax?: true;
}

function statementCheck(table: ReplayTable, check: StatementCheck): (result: unknown) => Inconsistency[] {
	return (result) => {
		let ok: boolean;
		if (check.expect === "absent") {
			const row = (result as RowDataPacket[])[0];
			ok = row !== undefined && Number(row.e) === 0;
		} else {
			ok = (result as ResultSetHeader).affectedRows === 1;
		}
		return ok
			? []
			: [
					{
						table: table.mapping.destination,
						kind: check.kind,
						key: check.key,
						detail: `${table.label}: ${check.detail}`,
					},
				];
	};
}

/** Statements of a table applied change by change (no key, or columns outside the mapping). */
export class OrderedBatch {
	private readonly items: BatchItem[] = [];
	private pendingInserts: string[] = [];
	private pendingHead = "";
	private pendingBytes = 0;

	constructor(
		readonly table: ReplayTable,
		readonly mode: ReplayMode,
		private readonly maxStatementBytes: number,
	) {}

	add(change: RowChange): void {
		const statements = rowStatements(change, this.table, this.mode);
		for (const s of statements) {
			// Consecutive plain inserts (exact mode, no key) go out as one multi-row INSERT.
			if (s.multiRow) {
				// a different column list (an image older than a column) starts a statement of its own
				if (s.multiRow.head !== this.pendingHead) this.flushInserts();
				this.pendingHead = s.multiRow.head;
				this.pendingInserts.push(s.multiRow.tuple);
				this.pendingBytes += s.multiRow.tuple.length;
				if (this.pendingBytes >= this.maxStatementBytes) this.flushInserts();
				continue;
			}
			this.flushInserts();
			const item: BatchItem = { sql: formatStatement(s) };
			if (s.check) item.check = statementCheck(this.table, s.check);
			if (s.lax) item.lax = true;
			this.items.push(item);
		}
	}

	private flushInserts(): void {
		if (this.pendingInserts.length === 0) return;
		this.items.push({ sql: this.pendingHead + this.pendingInserts.join(", ") });
		this.pendingInserts = [];
		this.pendingBytes = 0;
	}

	take(): BatchItem[] {
		this.flushInserts();
		return this.items.splice(0);
	}
}

interface Entry {
	/** An image holding the key (the first one seen). */
	keyImage: RowImage;
	/** The destination must have the row before the batch (the first change was an update or delete). */
	expectPresent: boolean;
	/**
	 * Not checked: a key change to a spelling the collation may call equal ('Alpha' -> 'ALPHA'),
	 * whose new key the destination shows as present until the old one is deleted.
	 */
	unchecked?: boolean;
	/** The row after the batch, or null if it ends deleted. */
	final: RowImage | null;
}

const CHECKS_PER_STATEMENT = 200;
const KEYS_PER_DELETE = 1000;

/**
 * Changes to one keyed table within one destination transaction, compacted per row key into
 * their net effect (see the module comment). Every image must have every written column (a
 * REPLACE would reset a column an update's image lacks): changes with older images go through
 * `OrderedBatch` (see `completeImage`).
 */
export class TableBatch {
	private readonly entries = new Map<string, Entry>();
	private readonly streamIssues: Inconsistency[] = [];
	private readonly key: ReplayColumn[];

	constructor(
		readonly table: ReplayTable,
		readonly mode: ReplayMode,
		private readonly maxStatementBytes: number,
		/** Exact mode only: check preconditions (false: converge without counting, for the fastest catch-up). */
		private readonly checks = true,
	) {
		if (!table.key) throw new Error(`${table.label}: TableBatch needs a keyed table`);
		this.key = table.key;
	}

	get size(): number {
		return this.entries.size;
	}

	private issue(image: RowImage, detail: string): void {
		if (this.mode !== "exact") return;
		this.streamIssues.push({
			table: this.table.mapping.destination,
			kind: "stream-order",
			key: keyRecord(this.table, image),
			detail: `${this.table.label}: ${detail}`,
		});
	}

	private put(image: RowImage): void {
		const k = exactKey(this.table, this.key, image);
		const e = this.entries.get(k);
		if (!e) {
			this.entries.set(k, { keyImage: image, expectPresent: false, final: image });
			return;
		}
		if (e.final) this.issue(image, "insert of a row an earlier change of the same batch inserted");
		e.final = image;
	}

	private remove(image: RowImage, what: "update" | "delete"): string {
		const k = exactKey(this.table, this.key, image);
		const e = this.entries.get(k);
		if (!e) {
			this.entries.set(k, { keyImage: image, expectPresent: true, final: null });
			return k;
		}
		if (!e.final) this.issue(image, `${what} of a row an earlier change of the same batch deleted`);
		e.final = null;
		return k;
	}

	add(change: RowChange): void {
		const { before, after } = change;
		if (!completeImage(this.table, before) || !completeImage(this.table, after)) {
			throw new Error(`${this.table.label}: TableBatch needs full row images (use OrderedBatch)`);
		}
		switch (change.kind) {
			case "insert":
				if (!after) throw new ReplayError(`${this.table.label}: an insert without row image`, "INCOMPLETE_ROW_IMAGE");
				this.put(after);
				return;
			case "delete":
				if (!before) throw new ReplayError(`${this.table.label}: a delete without row image`, "INCOMPLETE_ROW_IMAGE");
				this.remove(before, "delete");
				return;
			case "update": {
				if (!before || !after) {
					throw new ReplayError(`${this.table.label}: an update without both row images`, "INCOMPLETE_ROW_IMAGE");
				}
				const kb = exactKey(this.table, this.key, before);
				const ka = exactKey(this.table, this.key, after);
				if (kb === ka) {
					const e = this.entries.get(kb);
					if (!e) this.entries.set(kb, { keyImage: before, expectPresent: true, final: after });
					else {
						if (!e.final) this.issue(before, "update of a row an earlier change of the same batch deleted");
						e.final = after;
					}
					return;
				}
				// A key change: the old key goes, the new one arrives.
				this.remove(before, "update");
				this.put(after);
				if (this.key.some((c) => c.fold) && this.foldedKey(before) === this.foldedKey(after)) {
					const e = this.entries.get(ka);
					if (e && !e.expectPresent) e.unchecked = true;
				}
				return;
			}
		}
	}

	private foldedKey(image: RowImage): string {
		return JSON.stringify(this.key.map((c) => conflictValue(c, null, imageValue(this.table, image, c))));
	}

	/** `k IN (…)`, or `(a = … AND b = …) OR …` for a composite key (MariaDB's range optimizer takes both). */
	private keysWhere(slice: Entry[]): string {
		const t = this.table;
		if (this.key.length === 1) {
			const c = this.key[0] as ReplayColumn;
			return `${c.quoted} IN (${slice.map((e) => lit(t, e.keyImage, c)).join(", ")})`;
		}
		return slice.map((e) => `(${keyCondition(t, this.key, e.keyImage)})`).join(" OR ");
	}

	/** The batch's statements: checks (exact mode), then deletes, then replaces. Empties the batch. */
	take(): BatchItem[] {
		const items: BatchItem[] = [];
		const t = this.table;
		const entries = [...this.entries.values()];
		this.entries.clear();
		const checked = entries.filter((e) => !e.unchecked);
		if (this.mode === "exact" && this.checks) {
			const report = (e: Entry): Inconsistency => ({
				table: t.mapping.destination,
				kind: e.expectPresent ? "missing-row" : "duplicate-row",
				key: keyRecord(t, e.keyImage),
				detail: e.expectPresent
					? `${t.label}: update or delete of a row the destination does not have`
					: `${t.label}: insert of a row the destination already has`,
			});
			if (this.key.every((c) => c.kind === "integer")) {
				// Integer keys come back from the server in the images' own text: one SELECT of the
				// keys present, matched by text.
				const textKey = (values: unknown[]) => values.map((v) => String(v)).join("\u0000");
				for (let i = 0; i < checked.length; i += KEYS_PER_DELETE) {
					const slice = checked.slice(i, i + KEYS_PER_DELETE);
					items.push({
						sql: `SELECT ${this.key.map((c) => c.quoted).join(", ")} FROM ${t.quoted} WHERE ${this.keysWhere(slice)}`,
						check: (result) => {
							const present = new Set(
								(result as RowDataPacket[]).map((r) => textKey(this.key.map((c) => r[c.destination]))),
							);
							return slice
								.filter(
									(e) => present.has(textKey(this.key.map((c) => imageValue(t, e.keyImage, c)))) !== e.expectPresent,
								)
								.map(report);
						},
					});
				}
			} else {
				// Other keys: whether each exists, by position (no reliance on how values print).
				for (let i = 0; i < checked.length; i += CHECKS_PER_STATEMENT) {
					const slice = checked.slice(i, i + CHECKS_PER_STATEMENT);
					const sql = `SELECT ${slice
						.map((e, j) => `EXISTS(SELECT 1 FROM ${t.quoted} WHERE ${keyCondition(t, this.key, e.keyImage)}) AS e${j}`)
						.join(", ")}`;
					items.push({
						sql,
						check: (result) => {
							const row: Record<string, unknown> = (result as RowDataPacket[])[0] ?? {};
							return slice.filter((e, j) => (Number(row[`e${j}`]) === 1) !== e.expectPresent).map(report);
						},
					});
				}
			}
			if (this.streamIssues.length) {
				const issues = this.streamIssues.splice(0);
				items.push({ sql: "DO 0", check: () => issues });
			}
		}
		const deleted = entries.filter((e) => e.final === null);
		for (let i = 0; i < deleted.length; i += KEYS_PER_DELETE) {
			const slice = deleted.slice(i, i + KEYS_PER_DELETE);
			items.push({ sql: `DELETE FROM ${t.quoted} WHERE ${this.keysWhere(slice)}` });
		}
		// Rows holding ENUM's error value get REPLACEs of their own, under the lax mode; the final
		// images are distinct rows of one consistent state, so their order does not matter.
		const head = `REPLACE INTO ${t.quoted} ${t.columnList} VALUES `;
		const strict = { tuples: [] as string[], bytes: 0 };
		const lax = { tuples: [] as string[], bytes: 0 };
		const flush = (list: typeof strict) => {
			if (!list.tuples.length) return;
			const sql = head + list.tuples.join(", ");
			items.push(list === lax ? { sql, lax: true } : { sql });
			list.tuples = [];
			list.bytes = 0;
		};
		for (const e of entries) {
			if (!e.final) continue;
			const list = writesEnumErrorValue(e.final, t.columns) ? lax : strict;
			const tuple = rowTuple(t, e.final);
			list.tuples.push(tuple);
			list.bytes += tuple.length + 2;
			if (list.bytes >= this.maxStatementBytes) flush(list);
		}
		flush(strict);
		flush(lax);
		return items;
	}
}
