import { describe, expect, it } from "vitest";
import type { TableMapping } from "../../shared/model/rules.ts";
import { matchColumns } from "../../shared/verify/columns.ts";

describe("the columns verification compares", () => {
	const mapping: TableMapping = {
		source: { database: "a", table: "t" },
		destination: { database: "b", table: "t" },
		columns: [
			{ source: "id", destination: "id" },
			{ source: "total", destination: "amount" },
			{ source: "gone", destination: "gone" },
		],
	};

	it("takes the mapped columns both ends have, then same-named ones, and lists the rest per end", () => {
		expect(matchColumns(mapping, ["id", "total", "X", "only_here"], ["ID", "amount", "x", "only_there"])).toEqual({
			compared: [
				{ source: "id", destination: "ID" },
				{ source: "total", destination: "amount" },
				{ source: "X", destination: "x" },
			],
			sourceOnly: ["only_here"],
			destinationOnly: ["only_there"],
		});
	});

	it("never pairs a destination column twice", () => {
		// `amount` is the mapped destination of `total`; the source's own `amount` has no partner
		expect(matchColumns(mapping, ["id", "total", "amount"], ["id", "amount"])).toEqual({
			compared: [
				{ source: "id", destination: "id" },
				{ source: "total", destination: "amount" },
			],
			sourceOnly: ["amount"],
			destinationOnly: [],
		});
	});
});
