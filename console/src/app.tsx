import { Component, type ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { signedIn } from "./api.ts";
import type { ConsoleConfig } from "./auth.ts";
import { here, href, matchPath } from "./router.ts";
import { NAV, SCREENS } from "./screens/index.ts";
import { SignIn, SignOut } from "./screens/signin.tsx";
import { me } from "./session.ts";
import { Notice, notice } from "./ui/controls.tsx";
import { Empty, Failure } from "./ui/states.tsx";

/**
 * A screen that throws while rendering (an answer of an unexpected shape, say) shows the error in
 * its place; the frame and the navigation stay. Keyed by the path: another page starts afresh,
 * and a screen is never reused with another project's state.
 */
class ScreenBoundary extends Component<{ children: ComponentChildren }, { error?: Error }> {
	static override getDerivedStateFromError(error: Error) {
		return { error };
	}
	override render() {
		const { error } = this.state;
		return error ? <Failure error={error} what="this page" /> : this.props.children;
	}
}

/** The console's frame: navigation, who is signed in, the page's status line and the current screen. */
export function App({ config }: { config: ConsoleConfig }) {
	const { path, query } = here.value;
	let found: { screen: (typeof SCREENS)[number]; params: Record<string, string> } | undefined;
	for (const screen of SCREENS) {
		const params = matchPath(screen.pattern, path);
		if (params) {
			found = { screen, params };
			break;
		}
	}
	const title = found?.screen.title ?? "Not found";
	useEffect(() => {
		document.title = `${title} · Ferry`;
	}, [title]);
	// an action's outcome belongs to the page it was taken on
	useEffect(() => {
		notice.value = undefined;
	}, [path]);
	if (!signedIn.value) return <SignIn config={config} />;
	const section = `/${path.split("/")[1] ?? ""}`;
	return (
		<div class="frame">
			<header class="topbar">
				<a class="brand" href={href("/")}>
					Ferry
				</a>
				<span class="who">
					{me.value ? (
						<>
							{me.value.name} <span class="badge badge-neutral">{me.value.role}</span>
						</>
					) : null}
					<SignOut config={config} />
				</span>
			</header>
			<nav class="sidenav" aria-label="Sections">
				<ul>
					{NAV.map((n) => (
						<li key={n.path}>
							<a href={href(n.path)} aria-current={section === n.path ? "page" : undefined}>
								{n.label}
							</a>
						</li>
					))}
				</ul>
			</nav>
			<main class="content" id="main">
				<Notice />
				{found ? (
					<ScreenBoundary key={path}>
						<found.screen.component params={found.params} query={query} />
					</ScreenBoundary>
				) : (
					<>
						<h1>Not found</h1>
						<Empty title={`No page at ${path}`}>
							<a href={href("/")}>Go to the overview</a>
						</Empty>
					</>
				)}
			</main>
		</div>
	);
}
