import { render } from "preact";
import { api, configureApi, signedIn } from "./api.ts";
import { App } from "./app.tsx";
import { type ConsoleConfig, finishCognitoSignIn, loadConfig, savedToken, takeTokenFromFragment } from "./auth.ts";
import { rereadLocation } from "./router.ts";
import { me, type Role } from "./session.ts";
// one stylesheet per area, in this order (later areas may refine the shared rules)
import "./styles/base.css";
import "./styles/widgets.css";
import "./styles/project.css";
import "./styles/ops.css";
import "./styles/verification.css";
import "./styles/wizard.css";

async function start(): Promise<void> {
	const root = document.getElementById("app");
	if (!root) return;
	let config: ConsoleConfig;
	try {
		config = await loadConfig();
	} catch (err) {
		root.textContent = (err as Error).message;
		return;
	}
	configureApi(config);
	// only local mode takes a token from a link: in AWS a link carrying someone's ID token would
	// sign a person in as someone else
	const tokenLinks = config.auth.kind === "token";
	if (tokenLinks) takeTokenFromFragment();
	if (config.auth.kind === "cognito") {
		try {
			// back from the managed login, the address bar was put back to the deep link without a
			// hashchange: the router reads it again
			if (await finishCognitoSignIn(config.auth)) dispatchEvent(new HashChangeEvent("hashchange"));
		} catch (err) {
			root.textContent = (err as Error).message;
			return;
		}
	}
	rereadLocation();
	await whoAmI();
	// a new link pasted into this tab changes only the fragment: no reload, so take its token here
	addEventListener("hashchange", () => {
		if (tokenLinks && location.hash.startsWith("#token=")) {
			takeTokenFromFragment();
			rereadLocation();
			void whoAmI();
		}
	});
	render(<App config={config} />, root);
}

async function whoAmI(): Promise<void> {
	if (!savedToken()) {
		signedIn.value = false;
		return;
	}
	try {
		me.value = await api.get<{ name: string; role: Role }>("/me");
		signedIn.value = true;
	} catch {
		signedIn.value = false;
	}
}

void start();
