/**
 * Errors of schema migration name the object at fault and say what to do, so the console and
 * the CLI can show them as they are.
 */
export class SchemaError extends Error {
	constructor(
		/** The rule, table, column or view the error is about, e.g. `shop.orders`. */
		readonly object: string,
		/** What is wrong. */
		readonly problem: string,
		/** What the user can do about it. */
		readonly fix: string,
	) {
		// The object leads the message unless the problem already names it.
		super(`${problem.includes(object) ? "" : `${object}: `}${problem}: ${fix}`);
		this.name = "SchemaError";
	}
}

/** The object rules do not fit the source: a typo, a missing column, a bad row filter. */
export class SchemaRuleError extends SchemaError {
	constructor(object: string, problem: string, fix: string) {
		super(object, problem, fix);
		this.name = "SchemaRuleError";
	}
}

/** The destination is not in a state the planned schema can be applied to. */
export class SchemaApplyError extends SchemaError {
	constructor(object: string, problem: string, fix: string) {
		super(object, problem, fix);
		this.name = "SchemaApplyError";
	}
}
