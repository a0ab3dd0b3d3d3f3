import type { FunctionComponent } from "preact";
import { AlertSettingsScreen } from "./alert-settings.tsx";
import { AlertsScreen } from "./alerts.tsx";
import { ComponentsScreen } from "./components.tsx";
import { EditDataSourceScreen, NewDataSourceScreen } from "./datasource-form.tsx";
import { DataSourceScreen, DataSourcesScreen } from "./datasources.tsx";
import { OverviewScreen } from "./overview.tsx";
import { ProjectScreen } from "./project/details.tsx";
import { SwitchoverScreen, VerificationScreen } from "./project/standalone.tsx";
import { ProjectsScreen } from "./projects/list.tsx";
import { TicketsScreen } from "./tickets.tsx";
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
	{ pattern: "/", title: "Overview", component: OverviewScreen },
	{ pattern: "/datasources", title: "Data sources", component: DataSourcesScreen },
	{ pattern: "/datasources/new", title: "Add a data source", component: NewDataSourceScreen },
	{ pattern: "/datasources/:id", title: "Data source", component: DataSourceScreen },
	{ pattern: "/datasources/:id/edit", title: "Edit data source", component: EditDataSourceScreen },
	{ pattern: "/tickets", title: "Tickets", component: TicketsScreen },
	{ pattern: "/alerts", title: "Alerts", component: AlertsScreen },
	{ pattern: "/alerts/settings", title: "Alert settings", component: AlertSettingsScreen },
	{ pattern: "/components", title: "Components", component: ComponentsScreen },
	{ pattern: "/users", title: "Users and roles", component: UsersScreen },
	{ pattern: "/projects", title: "Projects", component: ProjectsScreen },
	// before `/projects/:id`, which would take "new" for an id
	{ pattern: "/projects/new", title: "Create project", component: WizardScreen },
	{ pattern: "/projects/:id", title: "Project", component: ProjectScreen },
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
