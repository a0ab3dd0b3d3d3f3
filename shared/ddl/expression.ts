import { quoteId } from "../db/sql.ts";
import { lower } from "../model/rules.ts";
import type { Tok } from "./parse.ts";

/** Column names inside expressions (generated columns, defaults, CHECK, functional key parts), read and mapped. */

/** Source column name -> destination name, or undefined when the column is not migrated. */
export type ColumnNames = (source: string) => string | undefined;

/**
 * Rewrites the column names in an expression: quoted names, and bare words that are not
 * function calls or qualified parts. Words that are not columns (keywords, functions) are
 * returned as they are because `names` does not know them.
 */
export function renameInExpression(toks: readonly Tok[], names: ColumnNames): string {
	return toks
		.map((t, i) => {
			const prefix = i > 0 && t.space ? " " : "";
			const qualified = toks[i - 1]?.text === "." || toks[i + 1]?.text === ".";
			if (t.kind === "quoted" && !qualified) {
				const to = names(t.name as string);
				return prefix + (to === undefined ? t.text : quoteId(to));
			}
			if (t.kind === "word" && !qualified && toks[i + 1]?.text !== "(") {
				const to = names(t.text);
				return prefix + (to === undefined || lower(to) === lower(t.text) ? t.text : quoteId(to));
			}
			return prefix + t.text;
		})
		.join("");
}

/** Names an expression may read: quoted names and bare words that are not function calls. */
export function namesIn(toks: readonly Tok[]): string[] {
	return toks.flatMap((t, i) => {
		if (t.kind === "quoted") return [t.name as string];
		if (t.kind === "word" && toks[i + 1]?.text !== "(" && !/^\d/.test(t.text)) return [t.text];
		return [];
	});
}
