import { qualifiedName, quoteTable } from "../db/sql.ts";
import { includingRule, destinationOf as ruleDestination, rulesForDatabase, type TableName } from "../model/rules.ts";
import type { Cursor } from "./parse.ts";
import { describeRule } from "./rules.ts";
import type { Work } from "./state.ts";

/**
 * CREATE / ALTER VIEW. User-written definitions may name tables without their database and
 * columns without their table, so they are not rewritten: a view is replayed when no rule
 * renames anything it could read, with the statement's default database.
 */
export function createView(
	w: Work,
	c: Cursor,
	algorithm: string | undefined,
	verb: "CREATE VIEW" | "ALTER VIEW",
): void {
	w.form("CREATE VIEW");
	c.accept("IF", "NOT", "EXISTS");
	const name = c.tableName(w.db);
	const subject = `${verb} ${qualifiedName(name)}`;
	let columns = "";
	if (c.isPunct("(")) columns = ` (${c.text(c.group())})`;
	c.expect("AS");
	const body = c.skipUntil(() => false);
	const definition = c.text(body);
	const match = includingRule(w.ctx.rules, name);
	if (!match) w.ignore("CREATE VIEW", `${subject}: no rule includes the view, so it is not migrated`);
	const databases = new Set([name.database, ...(w.db ? [w.db] : [])]);
	const toks = c.toks.slice(body[0], body[1]);
	toks.forEach((t, i) => {
		if ((t.kind === "quoted" || t.kind === "word") && toks[i + 1]?.text === "." && toks[i - 1]?.text !== ".") {
			databases.add(t.kind === "quoted" ? (t.name as string) : t.text);
		}
	});
	const viewOwnRule = !/[*?]/.test(match.rule.table) && !match.rule.renameDatabase && !match.rule.renameColumns;
	for (const database of databases) {
		for (const r of rulesForDatabase(w.ctx.rules, database)) {
			if (r.index === match.index && viewOwnRule) continue;
			if (r.rule.renameDatabase || r.rule.renameTable || r.rule.renameColumns) {
				w.refuse(
					"CREATE VIEW",
					`${subject}: ${describeRule(r)} renames objects of database ${database}, and Ferry does not rewrite user-written view definitions: create the view at the destination by hand and skip the statement`,
				);
			}
		}
	}
	const destination = ruleDestination(match, name);
	const algo = algorithm ? `ALGORITHM=${algorithm} ` : "";
	w.statements.push(
		`CREATE OR REPLACE ${algo}SQL SECURITY INVOKER VIEW ${quoteTable(destination)}${columns} AS ${definition}`,
	);
	w.changes.push(
		`${qualifiedName(name)}: DEFINER dropped, SQL SECURITY INVOKER (the source's definer account need not exist at the destination)`,
	);
	if (w.db) w.useDatabase = w.db;
}

export function dropView(w: Work, c: Cursor): void {
	w.form("DROP VIEW");
	c.accept("IF", "EXISTS");
	const names: TableName[] = [];
	do names.push(c.tableName(w.db));
	while (c.acceptPunct(","));
	c.acceptOneOf("RESTRICT", "CASCADE");
	const targets = names.flatMap((n) => {
		const match = includingRule(w.ctx.rules, n);
		return match ? [ruleDestination(match, n)] : [];
	});
	if (targets.length === 0)
		w.ignore("DROP VIEW", `DROP VIEW ${names.map(qualifiedName).join(", ")}: no rule includes the views`);
	w.statements.push(`DROP VIEW IF EXISTS ${targets.map(quoteTable).join(", ")}`);
}
