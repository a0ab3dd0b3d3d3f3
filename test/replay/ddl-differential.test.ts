import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { translateDdl } from "../../shared/ddl/translate.ts";
import { DifferentialHarness, type StatementOutcome } from "../support/ddl-differential.ts";
import { CORPUS, MYSQL_FIXTURES } from "./ddl-corpus.ts";

/**
 * The differential DDL test (test/support/ddl-differential.ts): every corpus statement runs at
 * the source, through capture, translation and replay into the destination, and both ends are
 * compared. Each must come out identical, refused or ignored with its reason, or different in
 * a way the translation reports; none may differ silently. The outcomes are recorded in
 * ddl-corpus-outcomes.json, from which docs/ddl-support.md lists them (`npx tsx scripts/docs.ts`);
 * run with FERRY_UPDATE_DDL_CORPUS=1 to record new outcomes after a change (then
 * `npx biome format --write test/replay/ddl-corpus-outcomes.json` and `npx tsx scripts/docs.ts`).
 */

const OUTCOMES = new URL("./ddl-corpus-outcomes.json", import.meta.url);

describe("DDL replay, differential: source and destination agree on every corpus statement", () => {
	const harness = new DifferentialHarness();

	beforeAll(async () => {
		await harness.open();
	});

	afterAll(async () => {
		await harness.close();
	});

	it("runs the corpus with no silent difference, and the recorded outcomes are current", {
		timeout: 300_000,
	}, async () => {
		const outcomes: StatementOutcome[] = [];
		for (const group of CORPUS) outcomes.push(...(await harness.runGroup(group)));
		outcomes.push(...MYSQL_FIXTURES.map(translateFromMysql));
		const normalised = outcomes.map((o) => ({ ...o, ...(o.message ? { message: harness.anonymise(o.message) } : {}) }));
		if (process.env.FERRY_UPDATE_DDL_CORPUS) {
			writeFileSync(OUTCOMES, `${JSON.stringify(normalised, null, "\t")}\n`);
		}
		const silent = normalised.filter((o) => o.silent);
		expect(silent, "statements that left the ends different without a word").toEqual([]);
		expect(outcomes.length).toBeGreaterThanOrEqual(200);
		const recorded = JSON.parse(readFileSync(OUTCOMES, "utf8")) as StatementOutcome[];
		expect(normalised).toEqual(recorded);
	});
});

/** A MySQL-only fixture's outcome: the translation's text (or its reason), from a MySQL 8.0 source. */
function translateFromMysql(sql: string): StatementOutcome {
	const column = (name: string) => ({ source: name, destination: name });
	const d = translateDdl(
		{ kind: "ddl", database: "shop", sql },
		{
			rules: [{ database: "shop", table: "*", exclude: false }],
			mappings: [
				{
					source: { database: "shop", table: "x" },
					destination: { database: "shop", table: "x" },
					columns: ["id", "name", "a", "b"].map(column),
				},
			],
			destinationEngine: "mariadb",
			destinationVersion: "10.11.6",
			source: { flavor: "mysql", version: "8.0.36" },
		},
	);
	const group = "MySQL 8.0 only (translation text, MariaDB destination)";
	if (d.action !== "apply")
		return { group, sql, outcome: d.action === "refuse" ? "refused" : "ignored", message: d.reason };
	return {
		group,
		sql,
		outcome: "translated",
		message: [...d.statements, ...d.warnings, ...d.changes].join("; "),
	};
}
