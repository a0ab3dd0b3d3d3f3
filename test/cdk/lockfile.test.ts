import { describe, expect, it } from "vitest";
import { type Lockfile, linuxArm64Natives, lockSubset, resolveInLock } from "../../cdk/lockfile.ts";

const lock: Lockfile = {
	lockfileVersion: 3,
	packages: {
		"": { name: "repo", dependencies: { a: "1.0.0", b: "2.0.0", dev: "1.0.0" } },
		"node_modules/a": {
			version: "1.0.0",
			dependencies: { c: "^1" },
			optionalDependencies: { "@n/x-arm": "1", "@n/x-x64": "1" },
		},
		"node_modules/a/node_modules/c": { version: "1.5.0" },
		"node_modules/c": { version: "3.0.0", dev: true },
		"node_modules/@n/x-arm": { version: "1.0.0", optional: true, os: ["linux"], cpu: ["arm64"], libc: ["glibc"] },
		"node_modules/@n/x-x64": { version: "1.0.0", optional: true, os: ["linux"], cpu: ["x64"], libc: ["glibc"] },
		"node_modules/b": { version: "2.0.0", dependencies: { shared: "1" } },
		"node_modules/shared": { version: "1.1.0", optionalDependencies: { b: "2" } },
		"node_modules/dev": { version: "1.0.0", dev: true },
	},
};

describe("the lockfile subset the capture-replay image installs", () => {
	it("resolves a dependency to the nearest node_modules, as npm does", () => {
		expect(resolveInLock(lock.packages, "node_modules/a", "c")).toBe("node_modules/a/node_modules/c");
		expect(resolveInLock(lock.packages, "node_modules/b", "c")).toBe("node_modules/c");
		expect(resolveInLock(lock.packages, "node_modules/b", "missing")).toBeUndefined();
	});

	it("keeps every package the roots reach at its place and version, and nothing else", () => {
		const subset = lockSubset(lock, "image", ["a"]);
		expect(subset.packages[""]).toEqual({ name: "image", dependencies: { a: "1.0.0" } });
		expect(Object.keys(subset.packages).sort()).toEqual([
			"",
			"node_modules/@n/x-arm",
			"node_modules/@n/x-x64",
			"node_modules/a",
			"node_modules/a/node_modules/c",
		]);
		expect(subset.packages["node_modules/a/node_modules/c"]?.version).toBe("1.5.0");
	});

	it("marks a package optional only when no required path reaches it, and drops dev flags", () => {
		const subset = lockSubset(lock, "image", ["a", "b"]);
		expect(subset.packages["node_modules/@n/x-arm"]?.optional).toBe(true);
		expect(subset.packages["node_modules/b"]?.optional).toBeUndefined();
		expect(subset.packages["node_modules/shared"]?.optional).toBeUndefined();
		const withDev = lockSubset(
			{ ...lock, packages: { ...lock.packages, "node_modules/b": { version: "2.0.0", dependencies: { c: "3" } } } },
			"image",
			["b"],
		);
		expect(withDev.packages["node_modules/c"]).toEqual({ version: "3.0.0" });
	});

	it("refuses a root or a required dependency the lockfile does not hold", () => {
		expect(() => lockSubset(lock, "image", ["nope"])).toThrow(/nope is not in package-lock.json/);
		const broken = {
			...lock,
			packages: { ...lock.packages, "node_modules/b": { version: "2.0.0", dependencies: { gone: "1" } } },
		};
		expect(() => lockSubset(broken, "image", ["b"])).toThrow(/b needs gone/);
	});

	it("lists the Linux arm64 glibc builds of the optional native packages", () => {
		expect(linuxArm64Natives(lockSubset(lock, "image", ["a"]))).toEqual([{ name: "@n/x-arm", version: "1.0.0" }]);
		expect(linuxArm64Natives(lockSubset(lock, "image", ["b"]))).toEqual([]);
	});
});
