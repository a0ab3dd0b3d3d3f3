import type { RowDataPacket } from "mysql2";
import type { DdlChange, TransactionPart } from "../capture/change.ts";
import type { Context } from "../context.ts";
import { type Connection, connect, type Pool } from "../db/connect.ts";
import { qualifiedName, redactSql } from "../db/sql.ts";
import { mapTable } from "../ddl/rules.ts";
import { applyDdlEffects, type DdlContext, type DdlDecision, type DdlEffect, translateDdl } from "../ddl/translate.ts";
import { SYSTEM } from "../model/actor.ts";
import type { Credentials } from "../model/datasource.ts";
import type { Direction, Project } from "../model/project.ts";
import type { ObjectRules, TableMapping, TableName } from "../model/rules.ts";
import { includingRule, renamedColumn, selects } from "../model/rules.ts";
import { logger } from "../observability.ts";
import { ddlIdentity, executeDdl } from "../replay/ddl-execute.ts";
import { FatalReplicationError } from "../replay/fatal.ts";
import type { ColumnRule } from "../replay/resolver.ts";
import { quotedNames } from "../schema/sqltext.ts";
import { recordEvent } from "../state/events.ts";
import { type MappingChange, saveMappings } from "../state/tables.ts";
import { replicationId } from "./ids.ts";
import { forwardOf, invertMappings, sourceOf } from "./reverse.ts";

const key = (t: TableName) => `${t.database}\u0000${t.table}`;

/** CREATE or DROP TRIGGER, after any leading comments (MariaDB logs CREATE TRIGGER with its DEFINER). */
const TRIGGER_DDL =
	/^\s*(?:\/\*[\s\S]*?\*\/\s*)*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?|DROP\s+)TRIGGER\b/i;

export interface TablesSetup {
	ctx: Context;
	project: Project;
	direction: Direction;
	/** The project's mappings (forward terms), as the state table holds them. */
	forward: readonly TableMapping[];
	servers: Omit<DdlContext, "rules" | "mappings">;
	/** The server capture reads, for the columns of a table the stream meets unmapped. */
	capture: Pool;
	/** The server replay writes to. */
	target: Credentials;
}

/**
 * The project's migrated tables as one replication stream sees them, and the DDL it replays.
 *
 * Forward: the mappings as resolved at precheck and changed by replayed DDL. Reverse: the same
 * mappings and rules turned round (reverse.ts), so that DDL at the destination,
 * which takes the writes after a switchover (or all along in two-way sync), reaches the source
 * as the source's DDL reaches the destination: translated into the source's dialect, run there
 * with the stream's mark, its effect kept in the project's (forward) mappings. Each stream keeps
 * the mappings it changes in the state table (`TABLES#`), only the tables it changed.
 *
 * What reverse does not replay, and why:
 * - trigger DDL: the switchover created the destination's triggers and dropped the source's,
 *   so that reverse replay's rows do not fire them twice;
 * - DROP TABLE of a table the source still has: MariaDB logs DROP TABLE without the statement's
 *   comment, so it cannot be told from forward replay's own DROP TABLE of a table the source
 *   dropped and created again: a ticket (a DROP of tables the source no longer has is forward's);
 * - DROP DATABASE: the source database may hold tables the project never migrated: a ticket;
 * - views in two-way sync: MariaDB logs CREATE VIEW without the comment too, so forward's own
 *   view statements would come back, forever.
 * A ticket's "skip" passes over the statement and takes its effect on the mappings
 * (`skipDdl`): the person made the change at the other end by hand, or does not want it there.
 */
export class Tables {
	private byName = new Map<string, TableMapping>();
	/** The rules this stream's DDL translation works with (reverse: turned round). */
	private readonly rules: ObjectRules;

	constructor(private readonly s: TablesSetup) {
		if (s.direction === "forward") {
			this.rules = s.project.objects;
			this.byName = byName(s.forward);
			return;
		}
		const { mappings, rules } = invertMappings(s.forward, s.project.objects);
		this.rules = rules;
		this.byName = byName(mappings);
	}

	private get reverse(): boolean {
		return this.s.direction === "reverse";
	}

	/** Tables whose rows capture reads: the mapped ones and those the rules include (a table created later must not lose its first rows). */
	captures(t: TableName): boolean {
		return this.byName.has(key(t)) || this.including(t) !== undefined;
	}

	/** The rule that would replicate a table this stream has no mapping of. */
	private including(t: TableName) {
		if (this.reverse && !sourceOf(t, this.rules, this.s.project.objects)) return undefined;
		return includingRule(this.rules, t);
	}

	/**
	 * The mapping of a captured table. Rows of a table the rules include but the stream has no
	 * mapping of (its CREATE was skipped after a ticket) are not dropped: the table is mapped as
	 * its captured side is now, once the target has it; else the stream stops with a ticket.
	 */
	async mapping(t: TableName): Promise<TableMapping | undefined> {
		const known = this.byName.get(key(t));
		if (known) return known;
		const match = this.including(t);
		if (!match) return undefined;
		const columns = await capturedColumns(this.s.capture, t);
		if (columns.length === 0) return undefined; // rows of a table since dropped: nothing to keep
		const mapped = mapTable(t, match, columns);
		if ("refusal" in mapped) throw new FatalReplicationError(`rows of ${qualifiedName(t)} arrive: ${mapped.refusal}`);
		const mapping = mapped.mapping;
		if (!(await this.targetHas(mapping.destination))) {
			throw new FatalReplicationError(
				`rows of ${qualifiedName(t)} arrive, a table the project's rules include, but ${qualifiedName(mapping.destination)} does not exist (its CREATE TABLE was not replayed): create it there by hand, then retry`,
			);
		}
		logger.warn("replicating a table the stream had no mapping of", { table: qualifiedName(t) });
		await this.save([{ kind: "table-created", mapping }]);
		return mapping;
	}

	/** The rules' say on a captured column a mapping lacks (shared/replay/resolver.ts). */
	columnRule(t: TableName, column: string): ColumnRule {
		const rule = (this.byName.has(key(t)) ? includingRule(this.rules, t) : this.including(t))?.rule;
		return rule
			? { target: renamedColumn(rule, column), selected: selects(rule, column) }
			: { target: column, selected: true };
	}

	/** A mapping replay changed to match both ends (resolver.ts): kept for the next session. */
	async mappingChanged(m: TableMapping): Promise<void> {
		await this.save([{ kind: "columns-changed", mapping: m, changes: [] }]);
	}

	async applyDdl(change: DdlChange, part: TransactionPart, conn: Connection): Promise<void> {
		const before = [...this.byName.values()];
		const decision = this.translate(change, before);
		const log = { replicationId: this.stream, sql: redactSql(change.sql) };
		if (change.echo) {
			// the other direction's replay ran it here: follow its effect on the mappings, run nothing
			if (decision.action === "apply") this.byName = byName(applyDdlEffects(before, decision.effects));
			logger.info("DDL the other direction replayed: not sent back", log);
			return;
		}
		if (decision.action === "ignore") {
			logger.info("DDL ignored", { ...log, reason: redactSql(decision.reason) });
			return;
		}
		const statement = redactSql(change.sql);
		if (this.reverse && TRIGGER_DDL.test(change.sql)) {
			logger.info("trigger DDL at the destination: not replayed in reverse", log);
			return;
		}
		if (decision.action === "refuse") {
			throw new FatalReplicationError(
				`unsupported DDL: ${redactSql(decision.reason)}; statement: ${statement}`,
				part.gtid,
				statement,
			);
		}
		if (this.reverse) {
			const held = await this.heldBack(decision, conn);
			if (held === "forward's") {
				await this.save(decision.effects);
				logger.info("DROP TABLE of tables the source no longer has (forward replay's): not sent back", log);
				return;
			}
			if (held === "view") {
				logger.warn("view DDL at the destination: not replayed in reverse during two-way sync", log);
				return;
			}
			if (held) throw new FatalReplicationError(`${held}; statement: ${statement}`, part.gtid, statement);
		}
		// in the source statement's session, marked as replay's, once even across a crash
		await executeDdl(conn, decision, {
			stream: this.stream,
			ddlId: ddlIdentity(change, part),
			session: change.session,
			destinationEngine: this.s.servers.destinationEngine,
		});
		await this.save(decision.effects);
		const statements = decision.statements.map(redactSql);
		logger.info("DDL replayed", { ...log, statements });
		// (a refused statement is recorded where the stream stops on it: stream.ts)
		await recordEvent(this.s.ctx, this.s.project.id, {
			kind: "ddl-applied",
			message: `${this.s.direction} replay applied DDL: ${statement}`,
			actor: SYSTEM,
			subject: this.stream,
			details: { gtid: part.gtid, statements },
		});
	}

	/**
	 * A statement the user chose to skip after a ticket: nothing runs, and its effect on the
	 * mappings is taken (the change was made at the other end by hand, or is not wanted there;
	 * replay then matches the tables as both ends have them, resolver.ts).
	 */
	async skipDdl(change: DdlChange, part: TransactionPart): Promise<void> {
		const decision = this.translate(change, [...this.byName.values()]);
		const log = { replicationId: this.stream, gtid: part.gtid, sql: redactSql(change.sql) };
		logger.warn("skipping the DDL the user chose to skip", log);
		if (decision.action === "apply") await this.save(decision.effects);
	}

	private get stream(): string {
		return replicationId(this.s.project.id, this.s.direction);
	}

	private translate(change: DdlChange, mappings: TableMapping[]): DdlDecision {
		const decision = translateDdl(change, { rules: this.rules, mappings, ...this.s.servers });
		if (!this.reverse || decision.action !== "apply") return decision;
		// reverse: a new table goes back only under the name the forward rules give it (reverse.ts `sourceOf`)
		const known = new Set(mappings.map((m) => key(m.source)));
		const strays = decision.effects.filter((e) => {
			if ((e.kind !== "table-created" && e.kind !== "table-renamed") || known.has(key(e.mapping.source))) return false;
			const back = sourceOf(e.mapping.source, this.rules, this.s.project.objects);
			return !back || key(back) !== key(e.mapping.destination);
		});
		if (strays.length === 0) return decision;
		const names = strays.map((e) => qualifiedName((e as { mapping: TableMapping }).mapping.source)).join(", ");
		if (strays.length === decision.effects.length && strays.every((e) => e.kind === "table-created")) {
			return {
				action: "ignore",
				reason: `${names}: the project's rules do not migrate a source table to it`,
				forms: decision.forms,
			};
		}
		return {
			action: "refuse",
			reason: `it gives ${names} a name the project's rules do not migrate a source table to: make the change at the source by hand and skip the statement`,
			statement: change.sql.trim(),
			forms: decision.forms,
		};
	}

	/** Why reverse replay must not run a statement (see the class comment), or null. */
	private async heldBack(
		decision: DdlDecision & { action: "apply" },
		conn: Connection,
	): Promise<string | "forward's" | "view" | null> {
		if (decision.forms.includes("DROP DATABASE")) {
			return "DROP DATABASE at the destination is not replayed at the source, which may hold tables the project never migrated: drop what should go at the source by hand, then skip the statement";
		}
		if (this.s.project.options.twoWay && decision.forms.some((f) => f === "CREATE VIEW" || f === "DROP VIEW"))
			return "view";
		const drops = decision.effects.filter((e) => e.kind === "table-dropped");
		if (drops.length === 0 || drops.length !== decision.effects.length) return null;
		const present: string[] = [];
		for (const e of drops) {
			const target = this.byName.get(key(e.source))?.destination;
			if (target && (await tableExists(conn, target))) present.push(qualifiedName(target));
		}
		if (present.length === 0) return "forward's";
		return `DROP TABLE at the destination of tables the source still has (${present.join(", ")}): MariaDB logs DROP TABLE without Ferry's mark, so reverse replication cannot tell it from forward replay's; drop them at the source by hand if they should go, then skip the statement`;
	}

	private async targetHas(t: TableName): Promise<boolean> {
		const c = await connect(this.s.target);
		try {
			return await tableExists(c, t);
		} finally {
			await c.end();
		}
	}

	/** Follows effects in memory and writes the changed tables' mappings (forward terms) to the state table. */
	private async save(effects: readonly DdlEffect[]): Promise<void> {
		const before = this.byName;
		this.byName = byName(applyDdlEffects([...before.values()], effects));
		const forward = (m: TableMapping) => (this.reverse ? forwardOf(m, this.s.project.objects) : m);
		const forwardKey = (source: TableName) =>
			this.reverse ? (before.get(key(source))?.destination ?? source) : source;
		const changes: MappingChange[] = effects.map((e) => {
			if (e.kind === "table-dropped") return { key: forwardKey(e.source) };
			if (e.kind === "table-renamed") return { key: forwardKey(e.from), mapping: forward(e.mapping) };
			return { key: forwardKey(e.mapping.source), mapping: forward(e.mapping) };
		});
		await saveMappings(this.s.ctx, this.s.project.id, changes, this.reverse);
	}
}

function byName(mappings: readonly TableMapping[]): Map<string, TableMapping> {
	return new Map(mappings.map((m) => [key(m.source), m]));
}

async function tableExists(conn: Connection, t: TableName): Promise<boolean> {
	const [rows] = await conn.query<RowDataPacket[]>(
		"SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		[t.database, t.table],
	);
	return rows.length > 0;
}

/** A captured table's columns as mapTable needs them (name, primary key, what a generated column reads). */
/** A captured table's columns as rule mapping reads them (`ruleMapping`): names, primary key, what generated columns read. */
export async function capturedColumns(capture: Pool, t: TableName) {
	const [rows] = await capture.query<RowDataPacket[]>(
		`SELECT COLUMN_NAME AS name, COLUMN_KEY AS k, GENERATION_EXPRESSION AS generation
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
		[t.database, t.table],
	);
	return rows.map((r) => ({
		name: String(r.name),
		primary: r.k === "PRI",
		reads: r.generation ? [...quotedNames(String(r.generation))] : [],
	}));
}
