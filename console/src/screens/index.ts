import type { FunctionComponent } from "preact";
import { ProjectsScreen } from "./projects/list.tsx";
import { UsersScreen } from "./users.tsx";
import { WizardScreen } from "./wizard/wizard.tsx";

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
	{ pattern: "/projects", title: "Projects", component: ProjectsScreen },
	// before `/projects/:id`, which would take "new" for an id
	{ pattern: "/projects/new", title: "Create project", component: WizardScreen },
	{ pattern: "/users", title: "Users and roles", component: UsersScreen },
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
