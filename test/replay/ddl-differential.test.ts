import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DifferentialHarness, type StatementOutcome } from "../support/ddl-differential.ts";
import { CORPUS } from "./ddl-corpus.ts";

/**
 * The differential DDL test (test/support/ddl-differential.ts): every corpus statement runs at
 * the source, through capture, translation and replay into the destination, and both ends are
 * compared. Each must come out identical, refused or ignored with its reason, or different in
 * a way the translation reports; none may differ silently. The outcomes are recorded in
 * ddl-corpus-outcomes.json, from which docs/ddl-support.md lists them (`npx tsx scripts/docs.ts`);
 * run with FERRY_UPDATE_DDL_CORPUS=1 to record new outcomes after a change.
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
