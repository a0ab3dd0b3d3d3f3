/**
 * Where Ferry's contender spent its CPU in bench/sync.ts (--profile): a V8 .cpuprofile (node
 * --cpu-prof) summed by self time, per function and per area (a package, a Ferry module, Node
 * itself, the garbage collector), and by inclusive time per function.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	children?: number[];
}
interface CpuProfile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

/** A script URL as the area it belongs to: "@vlasky/zongji", "shared/sinks/formats/debezium.ts", "node:internal". */
function area(url: string, fn: string): string {
	if (!url) return fn.startsWith("(") ? fn : "(native)";
	const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
	if (pkg) return pkg[1] as string;
	const own = /(?:^|\/)((?:shared|bench|test)\/.*)$/.exec(url);
	if (own) return own[1] as string;
	return url.startsWith("node:") ? "node:internal" : url;
}

/**
 * The source module of each line of an esbuild bundle: esbuild writes `// path/of/module.ts`
 * before each module's code, so a profile of the bundle can still be told apart by module.
 */
function bundleModules(bundle: string): (line: number) => string {
	const marks: [number, string][] = [];
	for (const [i, text] of readFileSync(bundle, "utf8").split("\n").entries()) {
		const m = /^\/\/ (\S+\/\S+\.(?:[cm]?js|ts|json))$/.exec(text);
		if (m) marks.push([i, m[1] as string]);
	}
	return (line) => {
		let [lo, hi] = [0, marks.length - 1];
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if ((marks[mid] as [number, string])[0] <= line) lo = mid;
			else hi = mid - 1;
		}
		return marks[lo]?.[1] ?? bundle;
	};
}

export interface ProfileSummary {
	totalMs: number;
	/** Self time per function and per area. */
	functions: [string, number][];
	areas: [string, number][];
	/** Time with the function anywhere on the stack (counted once per sample). */
	inclusive: [string, number][];
}

/** "valueJson shared/sinks/formats/debezium-schema.ts", "fn node:internal:12". */
function name(frame: ProfileNode["callFrame"]): string {
	const { functionName, url, lineNumber } = frame;
	const line = url.startsWith("node:") ? `:${lineNumber + 1}` : "";
	return `${functionName || "(anonymous)"}${url ? ` ${area(url, functionName)}${line}` : ""}`;
}

/** Sums a V8 CPU profile; frames of `bundle` (an esbuild bundle) are named by their source module. */
export function summariseProfile(file: string, bundle?: string, top = 15): ProfileSummary {
	const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
	if (bundle) {
		const moduleOf = bundleModules(bundle);
		for (const n of profile.nodes) {
			if (n.callFrame.url.endsWith(bundle)) n.callFrame.url = moduleOf(n.callFrame.lineNumber);
		}
	}
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map<number, number>();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const fns = new Map<string, number>();
	const areas = new Map<string, number>();
	const inclusive = new Map<string, number>();
	let totalMs = 0;
	for (const [i, id] of profile.samples.entries()) {
		const ms = (profile.timeDeltas[i] ?? 0) / 1000;
		const node = byId.get(id);
		if (!node) continue;
		const { functionName, url } = node.callFrame;
		if (functionName === "(idle)") continue;
		totalMs += ms;
		const where = area(url, functionName);
		fns.set(name(node.callFrame), (fns.get(name(node.callFrame)) ?? 0) + ms);
		areas.set(where, (areas.get(where) ?? 0) + ms);
		const onStack = new Set<string>();
		for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
			const frame = byId.get(at);
			if (frame?.callFrame.url) onStack.add(name(frame.callFrame));
		}
		for (const fn of onStack) inclusive.set(fn, (inclusive.get(fn) ?? 0) + ms);
	}
	const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
	return { totalMs, functions: sorted(fns), areas: sorted(areas), inclusive: sorted(inclusive) };
}

/** Markdown lines: the top areas and functions by self time, with their share of the busy time. */
export function profileLines(s: ProfileSummary): string[] {
	const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1)} %`;
	return [
		`Busy (non-idle) CPU time sampled: ${(s.totalMs / 1000).toFixed(1)} s. By area (self time):`,
		"",
		...s.areas.map(([a, ms]) => `- ${a}: ${pct(ms)}`),
		"",
		"Top functions (self time):",
		"",
		...s.functions.map(([f, ms]) => `- ${pct(ms)} ${f}`),
		"",
		"Top functions (inclusive: the function anywhere on the stack):",
		"",
		...s.inclusive.map(([f, ms]) => `- ${pct(ms)} ${f}`),
	];
}
