/**
 * Who the console calls the API as. Locally the token arrives in the URL fragment
 * (`ferry local up` prints the link), which browsers never send to a server; it moves to this
 * tab's sessionStorage and out of the address bar at once. In AWS, sign-in is Cognito's managed
 * login with the authorization code and PKCE (a public client has no secret to keep), and the ID
 * token goes to the API Gateway's Cognito authorizer. Tokens never go to localStorage: closing the
 * tab signs out.
 */

export type AuthConfig = { kind: "token" } | { kind: "cognito"; domain: string; clientId: string; scopes?: string[] };

export interface ConsoleConfig {
	apiBase: string;
	auth: AuthConfig;
}

const TOKEN = "ferry.token";
const PKCE = "ferry.pkce";

export async function loadConfig(): Promise<ConsoleConfig> {
	const res = await fetch("/config.json", { cache: "no-store" });
	if (!res.ok) throw new Error(`the console's configuration (/config.json) answered ${res.status}`);
	return (await res.json()) as ConsoleConfig;
}

/** Takes a token from `#token=…`, keeps it for this tab and removes it from the address bar and history. */
export function takeTokenFromFragment(): void {
	const m = /^#token=([^&]+)/.exec(location.hash);
	if (!m?.[1]) return;
	sessionStorage.setItem(TOKEN, decodeURIComponent(m[1]));
	history.replaceState(null, "", `${location.pathname}${location.search}#/`);
}

export function savedToken(): string | null {
	return sessionStorage.getItem(TOKEN);
}

export function saveToken(token: string): void {
	sessionStorage.setItem(TOKEN, token.trim());
}

/** The Authorization header's value: a bearer token locally, the raw ID token for a Cognito authorizer. */
export function authorization(config: ConsoleConfig): string | null {
	const token = savedToken();
	if (!token) return null;
	return config.auth.kind === "token" ? `Bearer ${token}` : token;
}

export function forgetToken(): void {
	sessionStorage.removeItem(TOKEN);
}

const base64url = (bytes: ArrayBuffer | Uint8Array) =>
	btoa(String.fromCharCode(...new Uint8Array(bytes)))
		.replace(/\+/g, "-")
		.replace(/\//g, "_")
		.replace(/=+$/, "");

const redirectUri = () => `${location.origin}/`;

/** Sends the browser to Cognito's managed login; it comes back to `/?code=…&state=…`. */
export async function startCognitoSignIn(auth: Extract<AuthConfig, { kind: "cognito" }>): Promise<void> {
	const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
	const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
	const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
	sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, back: location.hash }));
	const q = new URLSearchParams({
		response_type: "code",
		client_id: auth.clientId,
		redirect_uri: redirectUri(),
		scope: (auth.scopes ?? ["openid", "email", "profile"]).join(" "),
		state,
		code_challenge_method: "S256",
		code_challenge: challenge,
	});
	location.assign(`https://${auth.domain}/oauth2/authorize?${q}`);
}

/** Finishes a sign-in Cognito sent back here; true when it took a token. */
export async function finishCognitoSignIn(auth: Extract<AuthConfig, { kind: "cognito" }>): Promise<boolean> {
	const params = new URLSearchParams(location.search);
	const code = params.get("code");
	const saved = sessionStorage.getItem(PKCE);
	if (!code || !saved) return false;
	sessionStorage.removeItem(PKCE);
	const { verifier, state, back } = JSON.parse(saved) as { verifier: string; state: string; back: string };
	history.replaceState(null, "", `${location.pathname}${back || "#/"}`);
	if (params.get("state") !== state) throw new Error("the sign-in came back with a different state: sign in again");
	const res = await fetch(`https://${auth.domain}/oauth2/token`, {
		method: "POST",
		headers: { "content-type": "application/x-www-form-urlencoded" },
		body: new URLSearchParams({
			grant_type: "authorization_code",
			client_id: auth.clientId,
			code,
			redirect_uri: redirectUri(),
			code_verifier: verifier,
		}),
	});
	if (!res.ok) throw new Error(`Cognito refused the sign-in (${res.status}): sign in again`);
	const tokens = (await res.json()) as { id_token?: string };
	if (!tokens.id_token) throw new Error("Cognito's answer held no ID token");
	saveToken(tokens.id_token);
	return true;
}

export function cognitoSignOutUrl(auth: Extract<AuthConfig, { kind: "cognito" }>): string {
	const q = new URLSearchParams({ client_id: auth.clientId, logout_uri: redirectUri() });
	return `https://${auth.domain}/logout?${q}`;
}
