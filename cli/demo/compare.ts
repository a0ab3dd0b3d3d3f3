import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";

/**
 * A quick whole-database comparison by query for the demo and the end-to-end tests: the same
 * tables and views, the same SHOW CREATE TABLE, the same row counts and CHECKSUM TABLE values.
 * (Full verification with row-level diffs is the verify role's job.)
 */
export async function compareDatabases(
	source: Credentials,
	destination: Credentials,
	database: string,
): Promise<{ identical: boolean; lines: string[] }> {
	const [a, b] = await Promise.all([connect(source), connect(destination)]);
	try {
		const lines: string[] = [];
		let identical = true;
		const [ta, tb] = await Promise.all([objects(a, database), objects(b, database)]);
		const names = [...new Set([...ta.keys(), ...tb.keys()])].sort();
		for (const name of names) {
			const [x, y] = [ta.get(name), tb.get(name)];
			if (!x || !y) {
				identical = false;
				lines.push(`${name}: ${x ? "missing at destination" : "extra at destination"}`);
				continue;
			}
			const sameDdl = normaliseDdl(x.ddl) === normaliseDdl(y.ddl);
			if (x.kind === "VIEW") {
				lines.push(`${name} (view): ${sameDdl ? "same definition" : "DIFFERENT definition"}`);
				identical &&= sameDdl;
				continue;
			}
			const [ca, cb] = await Promise.all([stats(a, database, name), stats(b, database, name)]);
			const same = sameDdl && ca.count === cb.count && ca.checksum === cb.checksum;
			identical &&= same;
			lines.push(
				`${name}: ${ca.count.toLocaleString("en")} rows, checksum ${ca.checksum}${same ? " = " : " != "}${cb.count.toLocaleString("en")} rows, checksum ${cb.checksum}${sameDdl ? "" : " (DDL differs)"}`,
			);
		}
		return { identical, lines };
	} finally {
		await Promise.all([a.end(), b.end()]);
	}
}

async function objects(conn: Connection, database: string): Promise<Map<string, { kind: string; ddl: string }>> {
	const [rows] = await conn.query(
		"SELECT TABLE_NAME AS name, TABLE_TYPE AS kind FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
		[database],
	);
	const out = new Map<string, { kind: string; ddl: string }>();
	for (const r of rows as { name: string; kind: string }[]) {
		const kind = r.kind === "VIEW" ? "VIEW" : "TABLE";
		const [ddl] = await conn.query(`SHOW CREATE ${kind} ${quoteId(database)}.${quoteId(r.name)}`);
		const row = (ddl as Record<string, string>[])[0] ?? {};
		out.set(r.name, {
			kind,
			ddl: row["Create Table"] ?? row["Create View"] ?? "",
		});
	}
	return out;
}

/** AUTO_INCREMENT counters and view definers legitimately differ after a copy. */
function normaliseDdl(ddl: string): string {
	return ddl
		.replace(/ AUTO_INCREMENT=\d+/, "")
		.replace(/DEFINER=`[^`]*`@`[^`]*` /, "")
		.replace(/SQL SECURITY \w+ /, "");
}

async function stats(conn: Connection, database: string, table: string): Promise<{ count: number; checksum: string }> {
	const t = `${quoteId(database)}.${quoteId(table)}`;
	const [[count], [sum]] = await Promise.all([
		conn.query(`SELECT COUNT(*) AS n FROM ${t}`),
		conn.query(`CHECKSUM TABLE ${t}`),
	]);
	return {
		count: Number((count as { n: string }[])[0]?.n ?? 0),
		checksum: String((sum as { Checksum: string }[])[0]?.Checksum ?? ""),
	};
}
