import type { Engine } from "../../model/datasource.ts";
import type { ServerFlavor } from "../snapshot.ts";

/**
 * What each destination engine cannot take as the source wrote it, as tables of rules: a rule
 * names the engines (and, with `below`, the versions) it concerns, a test on the object, and one
 * effect: rewrite it (a "changed" report entry with why), refuse it (why), or warn. The planner
 * runs every object through its table; nothing engine-specific lives anywhere else. This file
 * holds the rule engine and the engines' traits; the tables are charsets.ts, columns.ts and
 * tables.ts (indexes, table options, foreign keys and checks) beside it.
 *
 * When the destination version is unknown, rules limited to older versions (`below`) do not
 * rewrite (a current version is assumed) and turn refusals into warnings that say which versions
 * they concern.
 */

export interface Destination {
	engine: Engine;
	/** The product version (`8.0.36`, `7.5.0` for TiDB, `4.2.1` for OceanBase), if known. */
	version?: string;
}

export interface DialectContext {
	source: ServerFlavor;
	destination: Destination;
}

/** One thing the conversion changed about an object, and why (the schema report lists them). */
export interface Conversion {
	what: string;
	why: string;
}

export interface Verdict<T> {
	value: T;
	changes: Conversion[];
	warnings: string[];
	/** Why the object cannot be created at the destination; null when it can. */
	refusal: string | null;
}

type Effect<T> =
	| { refuse: string }
	| { warn: string }
	| {
			rewrite: (subject: T, ctx: DialectContext) => T;
			what: (before: T, after: T) => string;
			why: string;
	  };

export interface Rule<T> {
	engines: readonly Engine[];
	/** The rule concerns destination versions older than this one only. */
	below?: string;
	when: (subject: T, ctx: DialectContext) => boolean;
	effect: Effect<T>;
}

export const ALL: readonly Engine[] = ["mysql", "mariadb", "oceanbase-mysql", "tidb"];
export const NOT_MARIADB: readonly Engine[] = ["mysql", "oceanbase-mysql", "tidb"];

export const LABEL: Record<Engine, string> = {
	mysql: "MySQL",
	mariadb: "MariaDB",
	tidb: "TiDB",
	"oceanbase-mysql": "OceanBase (MySQL mode)",
};

/** Properties of a destination that are not conversions. */
export interface DialectTraits {
	label: string;
	/** The keyword for an index the optimiser ignores. */
	invisibleIndex: "IGNORED" | "INVISIBLE";
	/** MySQL makes CHECK constraint names unique per database; MariaDB per table. */
	checkNamesPerDatabase: boolean;
}

const TRAITS: Record<Engine, DialectTraits> = {
	mariadb: {
		label: LABEL.mariadb,
		invisibleIndex: "IGNORED",
		checkNamesPerDatabase: false,
	},
	mysql: {
		label: LABEL.mysql,
		invisibleIndex: "INVISIBLE",
		checkNamesPerDatabase: true,
	},
	tidb: {
		label: LABEL.tidb,
		invisibleIndex: "INVISIBLE",
		checkNamesPerDatabase: true,
	},
	"oceanbase-mysql": {
		label: LABEL["oceanbase-mysql"],
		invisibleIndex: "INVISIBLE",
		checkNamesPerDatabase: true,
	},
};

export function traits(engine: Engine): DialectTraits {
	return TRAITS[engine];
}

function compareVersions(a: string, b: string): number {
	const pa = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
	const pb = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
	for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
		const d = (pa[i] ?? 0) - (pb[i] ?? 0);
		if (d !== 0) return d;
	}
	return 0;
}

export function applyRules<T>(rules: readonly Rule<T>[], subject: T, ctx: DialectContext): Verdict<T> {
	const verdict: Verdict<T> = {
		value: subject,
		changes: [],
		warnings: [],
		refusal: null,
	};
	const { engine, version } = ctx.destination;
	for (const rule of rules) {
		if (!rule.engines.includes(engine) || !rule.when(verdict.value, ctx)) continue;
		if (rule.below && version !== undefined && compareVersions(version, rule.below) >= 0) continue;
		const uncertain = rule.below !== undefined && version === undefined;
		const effect = rule.effect;
		const maybe = (s: string) => (uncertain ? `if ${LABEL[engine]} is older than ${rule.below}: ${s}` : s);
		if ("refuse" in effect) {
			if (uncertain) verdict.warnings.push(maybe(effect.refuse));
			else verdict.refusal ??= effect.refuse;
		} else if ("warn" in effect) {
			verdict.warnings.push(maybe(effect.warn));
		} else if (!uncertain) {
			const before = verdict.value;
			verdict.value = effect.rewrite(before, ctx);
			verdict.changes.push({
				what: effect.what(before, verdict.value),
				why: effect.why,
			});
		}
	}
	return verdict;
}
