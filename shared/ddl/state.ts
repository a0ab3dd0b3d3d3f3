import type { DdlChange } from "../capture/change.ts";
import type { Engine } from "../model/datasource.ts";
import type { ColumnMapping, ObjectRules, TableMapping, TableName } from "../model/rules.ts";
import type { DialectContext } from "../schema/dialect/rules.ts";
import type { ServerFlavor } from "../schema/snapshot.ts";
import type { SourceServer } from "./parse.ts";
import { MappingSet } from "./rules.ts";
import type { DdlForm } from "./support.ts";

/** What DDL translation needs to know about the project. */
export interface DdlContext {
	rules: ObjectRules;
	/** The migrated tables as they stand before the statement. */
	mappings: readonly TableMapping[];
	destinationEngine: Engine;
	/** The destination's product version, if known (as for schema migration). */
	destinationVersion?: string;
	/** The source server, for versioned comments and table options; by default the destination's family. */
	source?: SourceServer;
}

export type ColumnChange =
	| { change: "added"; column: ColumnMapping }
	| { change: "dropped"; source: string }
	| { change: "renamed"; from: string; column: ColumnMapping };

/** What the replayer must change in its mappings once the statements ran. Applied in order. */
export type DdlEffect =
	/** A new migrated table (or one re-created by CREATE OR REPLACE: the mapping replaces the old one). */
	| { kind: "table-created"; mapping: TableMapping }
	| { kind: "table-dropped"; source: TableName }
	/** The table `from` is now `mapping.source`, migrated to `mapping.destination`. */
	| { kind: "table-renamed"; from: TableName; mapping: TableMapping }
	/** Columns of `mapping.source` changed; `mapping` is the whole new mapping. */
	| { kind: "columns-changed"; mapping: TableMapping; changes: ColumnChange[] };

const FAMILY: Record<Engine, ServerFlavor> = {
	mariadb: "mariadb",
	mysql: "mysql",
	tidb: "tidb",
	"oceanbase-mysql": "oceanbase",
};

/** Thrown to end translation with a refusal. */
export class Refusal extends Error {
	constructor(
		readonly form: DdlForm,
		readonly detail: string,
	) {
		super(detail);
		this.name = "Refusal";
	}
}

/** Thrown to end translation with nothing to do. */
export class Ignored extends Error {
	constructor(
		readonly form: DdlForm,
		readonly detail: string,
	) {
		super(detail);
		this.name = "Ignored";
	}
}

/** One statement's translation in progress. */
export class Work {
	readonly mappings: MappingSet;
	readonly statements: string[] = [];
	readonly effects: DdlEffect[] = [];
	readonly changes: string[] = [];
	readonly warnings: string[] = [];
	readonly forms: DdlForm[] = [];
	/** The default database the statements need (view definitions). */
	useDatabase: string | undefined;
	/** Per statement index: the destination tables a statement that is not repeatable changes (see ddl-execute.ts). */
	readonly guards = new Map<number, TableName[]>();

	constructor(
		readonly change: DdlChange,
		readonly ctx: DdlContext,
	) {
		this.mappings = new MappingSet(ctx.mappings);
	}

	get engine(): Engine {
		return this.ctx.destinationEngine;
	}

	get db(): string {
		return this.change.database;
	}

	get dialect(): DialectContext {
		return {
			source: this.ctx.source?.flavor ?? FAMILY[this.ctx.destinationEngine],
			destination: {
				engine: this.ctx.destinationEngine,
				...(this.ctx.destinationVersion ? { version: this.ctx.destinationVersion } : {}),
			},
		};
	}

	/** MariaDB takes IF [NOT] EXISTS on column, index and constraint clauses, which makes re-running a statement harmless. */
	get mariadb(): boolean {
		return this.ctx.destinationEngine === "mariadb";
	}

	/** Adds a statement that is not repeatable (ALTER TABLE, RENAME TABLE) of these tables: replay journals it. */
	alter(tables: TableName | TableName[], sql: string): void {
		this.guards.set(this.statements.length, Array.isArray(tables) ? tables : [tables]);
		this.statements.push(sql);
	}

	form(form: DdlForm): void {
		if (!this.forms.includes(form)) this.forms.push(form);
	}

	refuse(form: DdlForm, detail: string): never {
		this.form(form);
		throw new Refusal(form, detail);
	}

	ignore(form: DdlForm, detail: string): never {
		this.form(form);
		throw new Ignored(form, detail);
	}
}
