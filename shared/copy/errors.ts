import { CodedError } from "../errors.ts";
/** A full-migration failure that names the object it concerns and says what went wrong. */
export class CopyError extends CodedError<CopyErrorCode> {
	override readonly name = "CopyError";
}

export type CopyErrorCode =
	| "SOURCE_TABLE_MISSING"
	| "SOURCE_COLUMN_MISSING"
	| "DESTINATION_TABLE_MISSING"
	| "DESTINATION_COLUMN_MISSING"
	| "BAD_CHUNK"
	| "SOURCE_FAILED"
	| "DESTINATION_FAILED"
	| "ABORTED"
	| "CHUNK_BUSY"
	| "KEY_COLLATION_MISMATCH";

/** The server's error code and message of a driver error, if it is one. */
export function serverError(err: unknown): {
	code?: string;
	errno?: number;
	message: string;
} {
	const e = err as {
		code?: string;
		errno?: number;
		sqlMessage?: string;
		message?: string;
	};
	return {
		code: e.code,
		errno: e.errno,
		message: e.sqlMessage ?? e.message ?? String(err),
	};
}

/** Runs a statement on one side of a chunk copy, turning its failure into a CopyError. */
export interface SideErrors {
	/** The CopyError for a failure on `side` (a CopyError passes through; an abort becomes ABORTED). */
	fail(side: "source" | "destination", err: unknown): CopyError;
	onSource<T>(p: Promise<T>): Promise<T>;
	onDestination<T>(p: Promise<T>): Promise<T>;
}

/** Failures of the chunk `what` (e.g. "chunk 3 of db.t -> db.t"), named by side. */
export function sideErrors(what: string): SideErrors {
	const fail = (side: "source" | "destination", err: unknown): CopyError => {
		if (err instanceof CopyError) return err;
		if ((err as { name?: string }).name === "AbortError") {
			return new CopyError(`${what}: aborted`, "ABORTED", { cause: err });
		}
		const e = serverError(err);
		return new CopyError(
			`${what}: ${side} failed: ${e.message}${e.code ? ` (${e.code})` : ""}`,
			side === "source" ? "SOURCE_FAILED" : "DESTINATION_FAILED",
			{ cause: e },
		);
	};
	const onSource = async <T>(p: Promise<T>): Promise<T> => {
		try {
			return await p;
		} catch (err) {
			throw fail("source", err);
		}
	};
	const onDestination = async <T>(p: Promise<T>): Promise<T> => {
		try {
			return await p;
		} catch (err) {
			throw fail("destination", err);
		}
	};
	return { fail, onSource, onDestination };
}
