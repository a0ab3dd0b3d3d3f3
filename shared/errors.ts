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
