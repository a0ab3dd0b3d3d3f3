/**
 * The layout rules a newcomer relies on, checked: no import cycle among the product's modules
 * (type-only imports count too: a cycle of types is still two modules that cannot be read apart)
 * and no product source file over MAX_LINES. `npx tsx scripts/check-architecture.ts` prints what
 * breaks them; test/architecture.test.ts fails on it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export const PRODUCT_FOLDERS = ["shared", "functions", "tasks", "cli", "cdk"];
export const MAX_LINES = 500;

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/g;
const SIDE_EFFECT_IMPORT = /(?:^|\n)\s*import\s+"(\.{1,2}\/[^"]+)"/g;

function sourceFiles(root: string, folder: string): string[] {
	const dir = join(root, folder);
	const out: string[] = [];
	for (const name of readdirSync(dir)) {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) out.push(...sourceFiles(root, join(folder, name)));
		else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(join(folder, name));
	}
	return out;
}

/** Module -> the product modules it imports (relative imports only; packages are leaves). */
export function importGraph(root: string): Map<string, string[]> {
	const files = PRODUCT_FOLDERS.flatMap((f) => sourceFiles(root, f));
	const known = new Set(files);
	const graph = new Map<string, string[]>();
	for (const file of files) {
		const text = readFileSync(join(root, file), "utf8");
		const targets = new Set<string>();
		for (const re of [IMPORT, SIDE_EFFECT_IMPORT]) {
			for (const m of text.matchAll(re)) {
				const target = relative(root, resolve(root, dirname(file), m[1] ?? ""));
				if (known.has(target)) targets.add(target);
			}
		}
		graph.set(file, [...targets].sort());
	}
	return graph;
}

/** Strongly connected components of more than one module (or a module importing itself): Tarjan's algorithm. */
export function importCycles(graph: Map<string, string[]>): string[][] {
	let counter = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const cycles: string[][] = [];
	const visit = (v: string): void => {
		index.set(v, counter);
		low.set(v, counter);
		counter += 1;
		stack.push(v);
		onStack.add(v);
		for (const w of graph.get(v) ?? []) {
			if (!index.has(w)) {
				visit(w);
				low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
			} else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
		}
		if (low.get(v) === index.get(v)) {
			const component: string[] = [];
			let w: string | undefined;
			do {
				w = stack.pop() as string;
				onStack.delete(w);
				component.push(w);
			} while (w !== v);
			if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
		}
	};
	for (const v of graph.keys()) if (!index.has(v)) visit(v);
	return cycles;
}

/** Product files over MAX_LINES, longest first. */
export function longFiles(root: string): { file: string; lines: number }[] {
	return PRODUCT_FOLDERS.flatMap((f) => sourceFiles(root, f))
		.map((file) => ({ file, lines: readFileSync(join(root, file), "utf8").split("\n").length - 1 }))
		.filter((f) => f.lines > MAX_LINES)
		.sort((a, b) => b.lines - a.lines);
}

if (import.meta.url === `file://${process.argv[1]}`) {
	const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
	const cycles = importCycles(importGraph(root));
	const long = longFiles(root);
	for (const c of cycles) console.log(`import cycle: ${c.join(" <-> ")}`);
	for (const f of long) console.log(`over ${MAX_LINES} lines: ${f.file} (${f.lines})`);
	if (cycles.length === 0 && long.length === 0) console.log("no import cycle, no product file over 500 lines");
	process.exit(cycles.length + long.length > 0 ? 1 : 0);
}
