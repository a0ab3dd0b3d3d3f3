import type { FunctionComponent } from "preact";
import { SwitchoverScreen, VerificationScreen } from "./project/standalone.tsx";
import { UsersScreen } from "./users.tsx";

export interface ScreenProps {
	params: Record<string, string>;
	query: URLSearchParams;
}

export interface Screen {
	/** The hash path, with `:name` for a parameter. */
	pattern: string;
	/** The page's title (the tab's title and the heading screen readers land on). */
	title: string;
	component: FunctionComponent<ScreenProps>;
}

/** Every screen of the console; the first whose pattern matches the hash path is shown. */
export const SCREENS: Screen[] = [
	{ pattern: "/users", title: "Users and roles", component: UsersScreen },
	{ pattern: "/projects/:id/verification", title: "Verification", component: VerificationScreen },
	{ pattern: "/projects/:id/switchover", title: "Switchover", component: SwitchoverScreen },
];

/** The side navigation, in order. */
export const NAV: { path: string; label: string }[] = [
	{ path: "/", label: "Overview" },
	{ path: "/projects", label: "Projects" },
	{ path: "/datasources", label: "Data sources" },
	{ path: "/tickets", label: "Tickets" },
	{ path: "/alerts", label: "Alerts" },
	{ path: "/components", label: "Components" },
	{ path: "/users", label: "Users and roles" },
];
