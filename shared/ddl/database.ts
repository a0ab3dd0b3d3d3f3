import { quoteId, quoteTable } from "../db/sql.ts";
import { rulesForDatabase } from "../model/rules.ts";
import { convertCharset } from "../schema/dialect/charsets.ts";
import { type Cursor, DdlSyntaxError } from "./parse.ts";
import type { Work } from "./state.ts";
import { noteOf } from "./table.ts";

/** CREATE / ALTER / DROP DATABASE (and SCHEMA): the statements for each destination database the rules map it to. */

interface DatabaseOptions {
	charset?: string;
	collation?: string;
}

function databaseOptions(c: Cursor): DatabaseOptions {
	const o: DatabaseOptions = {};
	while (!c.done()) {
		c.accept("DEFAULT");
		if (c.accept("CHARACTER", "SET") || c.accept("CHARSET")) {
			c.acceptEquals();
			o.charset = c.identifier("a character set").toLowerCase();
			if (o.charset === "utf8") o.charset = "utf8mb3";
		} else if (c.accept("COLLATE")) {
			c.acceptEquals();
			o.collation = c.identifier("a collation").toLowerCase();
		} else if (c.acceptOneOf("COMMENT", "ENCRYPTION")) {
			c.acceptEquals();
			c.next();
		} else if (c.accept("READ", "ONLY")) {
			c.acceptEquals();
			c.next();
		} else if (c.accept("UPGRADE", "DATA", "DIRECTORY", "NAME")) {
			// MariaDB's rename of #mysql50# directories: nothing to do.
		} else {
			throw new DdlSyntaxError(`unknown database option ${c.where()}`);
		}
	}
	return o;
}

function charsetClause(w: Work, o: DatabaseOptions, object: string): string {
	if (o.charset === undefined && o.collation === undefined) return "";
	const charset = o.charset ?? (o.collation === "binary" ? "binary" : (o.collation?.split("_")[0] as string));
	const cs = convertCharset({ charset, collation: o.collation ?? `${charset}_general_ci` }, w.dialect);
	w.changes.push(...cs.changes.map((x) => `${object}: ${x.what} (${x.why})`));
	w.warnings.push(...cs.warnings);
	return ` CHARACTER SET ${cs.value.charset}${o.collation !== undefined || cs.changes.length > 0 ? ` COLLATE ${cs.value.collation}` : ""}`;
}

/** The destination databases the rules send a source database's tables to. */
function destinationDatabases(w: Work, database: string): string[] {
	const names = new Set<string>();
	for (const match of rulesForDatabase(w.ctx.rules, database)) names.add(match.rule.renameDatabase ?? database);
	return [...names];
}

export function createDatabase(w: Work, c: Cursor): void {
	w.form("CREATE DATABASE");
	c.accept("IF", "NOT", "EXISTS");
	const name = c.identifier("a database name");
	const options = databaseOptions(c);
	const targets = destinationDatabases(w, name);
	if (targets.length === 0)
		w.ignore("CREATE DATABASE", `CREATE DATABASE ${name}: no rule includes tables of the database`);
	const clause = charsetClause(w, options, name);
	for (const t of targets) w.statements.push(`CREATE DATABASE IF NOT EXISTS ${quoteId(t)}${clause}`);
}

export function alterDatabase(w: Work, c: Cursor): void {
	w.form("ALTER DATABASE");
	const name =
		c.isIdentifier() &&
		!c.at("DEFAULT") &&
		!c.at("CHARACTER") &&
		!c.at("CHARSET") &&
		!c.at("COLLATE") &&
		!c.at("COMMENT") &&
		!c.at("UPGRADE") &&
		!c.at("READ") &&
		!c.at("ENCRYPTION")
			? c.identifier("a database name")
			: w.db;
	const options = databaseOptions(c);
	const targets = destinationDatabases(w, name);
	if (targets.length === 0)
		w.ignore("ALTER DATABASE", `ALTER DATABASE ${name}: no rule includes tables of the database`);
	const clause = charsetClause(w, options, name);
	if (clause === "") w.ignore("ALTER DATABASE", `ALTER DATABASE ${name}: ${noteOf("ALTER DATABASE")}`);
	for (const t of targets) w.statements.push(`ALTER DATABASE ${quoteId(t)}${clause}`);
}

export function dropDatabase(w: Work, c: Cursor): void {
	w.form("DROP DATABASE");
	c.accept("IF", "EXISTS");
	const name = c.identifier("a database name");
	const mapped = w.mappings.all().filter((m) => m.source.database === name);
	const targets = new Set([...destinationDatabases(w, name), ...mapped.map((m) => m.destination.database)]);
	if (targets.size === 0) w.ignore("DROP DATABASE", `DROP DATABASE ${name}: the database is not migrated`);
	for (const m of mapped) {
		w.mappings.delete(m.source);
		w.effects.push({ kind: "table-dropped", source: m.source });
	}
	for (const target of targets) {
		const fedByOthers =
			w.mappings.all().some((m) => m.destination.database === target) ||
			w.ctx.rules.some((r) => !r.exclude && r.renameDatabase === target && r.database !== name);
		if (!fedByOthers) {
			w.statements.push(`DROP DATABASE IF EXISTS ${quoteId(target)}`);
			continue;
		}
		const tables = mapped.filter((m) => m.destination.database === target).map((m) => quoteTable(m.destination));
		if (tables.length > 0) w.statements.push(`DROP TABLE IF EXISTS ${tables.join(", ")}`);
		w.warnings.push(
			`destination database ${target} also receives tables from other source databases, so only the tables of ${name} are dropped from it`,
		);
	}
}
