import { Empty } from "../../ui/states.tsx";

/** Stands in for a tab another part of the console provides (wired in tabs.ts when it lands). */
export function NotYetTab() {
	return <Empty title="This section is not part of the console yet" />;
}
