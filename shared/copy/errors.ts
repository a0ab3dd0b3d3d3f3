/** A full-migration failure that names the object it concerns and says what went wrong. */
export class CopyError extends Error {
	constructor(
		message: string,
		readonly code: CopyErrorCode,
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = "CopyError";
	}
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
