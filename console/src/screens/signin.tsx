import { useState } from "preact/hooks";
import { api, signedIn } from "../api.ts";
import { type ConsoleConfig, cognitoSignOutUrl, forgetToken, saveToken, startCognitoSignIn } from "../auth.ts";
import { me, type Role } from "../session.ts";

/**
 * Signing in: locally, paste a token (the link `ferry local up` prints carries one already); in
 * AWS, Cognito's managed login.
 */
export function SignIn({ config }: { config: ConsoleConfig }) {
	const [token, setToken] = useState("");
	const [error, setError] = useState<string>();
	const submit = async (e: Event) => {
		e.preventDefault();
		saveToken(token);
		try {
			me.value = await api.get<{ name: string; role: Role }>("/me");
			signedIn.value = true;
			setError(undefined);
		} catch (err) {
			forgetToken();
			setError((err as Error).message);
		}
	};
	const auth = config.auth;
	return (
		<main class="signin">
			<h1>Ferry</h1>
			<p>Online migration and synchronization of MySQL-compatible databases.</p>
			{auth.kind === "cognito" ? (
				<button type="button" class="primary" onClick={() => startCognitoSignIn(auth)}>
					Sign in
				</button>
			) : (
				<form onSubmit={submit}>
					<label for="token">API token</label>
					<p class="hint" id="token-hint">
						Open the link <code>ferry local up</code> printed, or paste a token from <code>~/.ferry/secrets/</code> (
						<code>api-token</code>, <code>api-token-operator</code> or <code>api-token-viewer</code>).
					</p>
					<input
						id="token"
						type="password"
						autoComplete="off"
						aria-describedby="token-hint"
						value={token}
						onInput={(e) => setToken((e.target as HTMLInputElement).value)}
					/>
					<button type="submit" class="primary" disabled={!token.trim()}>
						Sign in
					</button>
				</form>
			)}
			{error && (
				<p class="state-error" role="alert">
					{error}
				</p>
			)}
		</main>
	);
}

export function SignOut({ config }: { config: ConsoleConfig }) {
	const out = () => {
		forgetToken();
		me.value = undefined;
		if (config.auth.kind === "cognito") location.assign(cognitoSignOutUrl(config.auth));
		else signedIn.value = false;
	};
	return (
		<button type="button" class="link" onClick={out}>
			Sign out
		</button>
	);
}
