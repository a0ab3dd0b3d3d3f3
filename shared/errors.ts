/** A request Ferry refuses, with the HTTP status the API answers and what to do about it. */
export class UserError extends Error {
	constructor(
		readonly status: 400 | 404 | 409 | 422,
		readonly code: string,
		message: string,
	) {
		super(message);
		this.name = "UserError";
	}
}

export const notFound = (what: string, id: string) => new UserError(404, "NOT_FOUND", `${what} '${id}' does not exist`);
export const conflict = (code: string, message: string) => new UserError(409, code, message);
export const invalid = (code: string, message: string) => new UserError(422, code, message);

/**
 * A failure with a code the caller can act on, whose message names the object it concerns and
 * what to do: the data path's roles each have their own (CaptureError, CopyError, ReplayError,
 * VerifyError, ConnectError), so a handler can tell where a failure came from.
 */
export class CodedError<Code extends string = string> extends Error {
	constructor(
		message: string,
		readonly code: Code,
		options?: { cause?: unknown },
	) {
		super(message, options);
	}
}
