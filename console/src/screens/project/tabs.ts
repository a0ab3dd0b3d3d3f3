import type { FunctionComponent } from "preact";
import type { ProjectStatus } from "../../../../shared/control/status.ts";
import type { Project } from "../../../../shared/model/project.ts";
import { FullTab } from "./full.tsx";
import { OverviewTab } from "./overview.tsx";
import { ParametersTab } from "./parameters.tsx";
import { SchemaTab } from "./schema.tsx";
import { IncrementalTab, ReverseTab, SynchronizationTab } from "./stream.tsx";
import { SwitchoverTab } from "./switchover.tsx";
import type { TabProps } from "./tab.ts";
import { TimelineTab } from "./timeline.tsx";
import { VerificationTab } from "./verification.tsx";

export interface ProjectTab {
	/** The `?tab=` value. */
	id: string;
	label: string;
	component: FunctionComponent<TabProps>;
	/** Whether this project has the tab; absent: every project. */
	shows?: (project: Project, status: ProjectStatus) => boolean;
}

const has = (type: Project["types"][number]) => (p: Project) => p.types.includes(type);
const migration = (p: Project) => !p.sync;

/** A project page's tabs, in order. */
export const TABS: ProjectTab[] = [
	{ id: "overview", label: "Overview", component: OverviewTab },
	{ id: "schema", label: "Schema", component: SchemaTab, shows: (p) => migration(p) && has("schema")(p) },
	{ id: "full", label: "Full migration", component: FullTab, shows: (p) => migration(p) && has("full")(p) },
	{
		id: "incremental",
		label: "Incremental",
		component: IncrementalTab,
		shows: (p) => migration(p) && has("incremental")(p),
	},
	{
		id: "reverse",
		label: "Reverse",
		component: ReverseTab,
		shows: (p, s) => migration(p) && (has("reverse")(p) || p.options.twoWay || !!s.reverse),
	},
	{ id: "sync", label: "Synchronization", component: SynchronizationTab, shows: (p) => !migration(p) },
	{ id: "verification", label: "Verification", component: VerificationTab, shows: migration },
	{
		id: "switchover",
		label: "Switchover",
		component: SwitchoverTab,
		shows: (p) => migration(p) && has("switchover")(p),
	},
	{ id: "timeline", label: "Timeline", component: TimelineTab },
	{ id: "parameters", label: "Parameters", component: ParametersTab },
];

export const tabsFor = (project: Project, status: ProjectStatus) =>
	TABS.filter((t) => !t.shows || t.shows(project, status));
