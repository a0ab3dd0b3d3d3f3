/**
 * The part of the repository's npm lockfile (v3) that a few dependencies need: what the
 * capture-replay image installs with `npm ci`, and which Linux arm64 native packages a Lambda
 * bundle must carry. Pure functions over the parsed lockfile; the CDK app reads the file.
 */

export interface LockEntry {
	version?: string;
	integrity?: string;
	dependencies?: Record<string, string>;
	optionalDependencies?: Record<string, string>;
	peerDependencies?: Record<string, string>;
	cpu?: string[];
	os?: string[];
	libc?: string[];
	optional?: boolean;
	dev?: boolean;
	devOptional?: boolean;
	[field: string]: unknown;
}

export interface Lockfile {
	name?: string;
	version?: string;
	lockfileVersion: number;
	requires?: boolean;
	packages: Record<string, LockEntry>;
}

/** npm's lookup: the nearest `node_modules/<name>` from the requiring package's folder up to the root. */
export function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
	let dir = from;
	for (;;) {
		const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
		if (packages[candidate]) return candidate;
		if (!dir) return undefined;
		const parent = dir.lastIndexOf("/node_modules/");
		dir = parent < 0 ? "" : dir.slice(0, parent);
	}
}

/** The package name a lockfile path holds (`node_modules/a/node_modules/@s/b` -> `@s/b`). */
export const packageName = (path: string) => path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);

/**
 * A lockfile for a package.json whose dependencies are `roots` at the versions the repository
 * locks: every package they reach, at the same place in the tree, so `npm ci` installs exactly
 * what the repository's own tests ran with. A package reached only through optional edges stays
 * optional (npm skips a platform package that does not fit the machine).
 */
export function lockSubset(lock: Lockfile, name: string, roots: readonly string[]): Lockfile {
	const required = new Set<string>();
	const reached = new Map<string, LockEntry>();
	const dependencies: Record<string, string> = {};
	const queue: Array<{ path: string; optional: boolean }> = [];
	for (const root of roots) {
		const path = resolveInLock(lock.packages, "", root);
		const version = path && lock.packages[path]?.version;
		if (!path || !version) throw new Error(`${root} is not in package-lock.json: run npm install`);
		dependencies[root] = version;
		queue.push({ path, optional: false });
	}
	while (queue.length > 0) {
		const { path, optional } = queue.shift() as { path: string; optional: boolean };
		if (reached.has(path) && (optional || required.has(path))) continue;
		const entry = lock.packages[path] as LockEntry;
		reached.set(path, entry);
		if (!optional) required.add(path);
		const edges: Array<[string, boolean]> = [
			...Object.keys(entry.dependencies ?? {}).map((d): [string, boolean] => [d, optional]),
			...Object.keys(entry.peerDependencies ?? {}).map((d): [string, boolean] => [d, optional]),
			...Object.keys(entry.optionalDependencies ?? {}).map((d): [string, boolean] => [d, true]),
		];
		for (const [dep, edgeOptional] of edges) {
			const target = resolveInLock(lock.packages, path, dep);
			if (target) queue.push({ path: target, optional: edgeOptional });
			else if (!edgeOptional && entry.dependencies?.[dep])
				throw new Error(`${packageName(path)} needs ${dep}, which package-lock.json does not hold`);
		}
	}
	const packages: Record<string, LockEntry> = { "": { name, dependencies } };
	for (const path of [...reached.keys()].sort()) {
		const { dev: _dev, devOptional: _devOptional, optional: _optional, ...entry } = reached.get(path) as LockEntry;
		packages[path] = required.has(path) ? entry : { ...entry, optional: true };
	}
	return { name, lockfileVersion: 3, requires: true, packages };
}

/** The optional native packages in `lock` built for Linux on arm64 with glibc (Lambda's and Fargate's arm64). */
export function linuxArm64Natives(lock: Lockfile): Array<{ name: string; version: string }> {
	return Object.entries(lock.packages)
		.filter(
			([path, e]) =>
				path !== "" &&
				e.optional === true &&
				e.os?.includes("linux") &&
				e.cpu?.includes("arm64") &&
				(e.libc === undefined || e.libc.includes("glibc")),
		)
		.map(([path, e]) => ({ name: packageName(path), version: String(e.version) }));
}
