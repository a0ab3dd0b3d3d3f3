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

/** One request about to be sent, for an authorizer to add its headers to. */
export interface OutgoingRequest {
	method: string;
	url: URL;
	headers: Record<string, string>;
	body?: string;
}

/** Adds the caller's credentials to a request: a bearer token locally, a SigV4 signature in AWS (cli/sigv4.ts). */
export type Authorizer = (req: OutgoingRequest) => Promise<Record<string, string>>;

export const bearer =
	(token: string): Authorizer =>
	async (req) => ({ ...req.headers, authorization: `Bearer ${token}` });

/** A small typed client of Ferry's REST API, used by the CLI and the tests. */
export class FerryClient {
	private readonly authorize: Authorizer;

	/** `auth` is a local bearer token or an authorizer. */
	constructor(
		private readonly baseUrl: string,
		auth: string | Authorizer,
	) {
		this.authorize = typeof auth === "string" ? bearer(auth) : auth;
	}

	async call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const url = new URL(this.baseUrl.replace(/\/$/, "") + path);
		const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
		const headers = await this.authorize({ method, url, headers: { "content-type": "application/json" }, body: text });
		const res = await fetch(url, { method, headers, body: text });
		const answer = await res.text();
		const parsed = answer ? JSON.parse(answer) : undefined;
		if (!res.ok) {
			const e = parsed?.error ?? {};
			throw new ApiError(res.status, e.code ?? String(res.status), e.message ?? answer);
		}
		return parsed as T;
	}

	get = <T>(path: string) => this.call<T>("GET", path);
	post = <T>(path: string, body?: unknown) => this.call<T>("POST", path, body ?? {});
	put = <T>(path: string, body: unknown) => this.call<T>("PUT", path, body);
	patch = <T>(path: string, body: unknown) => this.call<T>("PATCH", path, body);
	delete = (path: string) => this.call<void>("DELETE", path);
}
