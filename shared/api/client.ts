/** A refusal from Ferry's API, carrying its code and message. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
	) {
		super(message);
		this.name = "ApiError";
	}
}

/** A small typed client of Ferry's REST API, used by the CLI and the tests. */
export class FerryClient {
	constructor(
		private readonly baseUrl: string,
		private readonly token: string,
	) {}

	async call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const res = await fetch(this.baseUrl + path, {
			method,
			headers: {
				authorization: `Bearer ${this.token}`,
				"content-type": "application/json",
			},
			body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
		});
		const text = await res.text();
		const parsed = text ? JSON.parse(text) : undefined;
		if (!res.ok) {
			const e = parsed?.error ?? {};
			throw new ApiError(res.status, e.code ?? String(res.status), e.message ?? text);
		}
		return parsed as T;
	}

	get = <T>(path: string) => this.call<T>("GET", path);
	post = <T>(path: string, body?: unknown) => this.call<T>("POST", path, body ?? {});
	put = <T>(path: string, body: unknown) => this.call<T>("PUT", path, body);
	patch = <T>(path: string, body: unknown) => this.call<T>("PATCH", path, body);
	delete = (path: string) => this.call<void>("DELETE", path);
}
