import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * What `cdk synth` wrote to cdk.out: the stack's template, the Lambda asset folders and the
 * capture-replay image's build folder. `synthesizedOutput()` synthesizes again when cdk.out is
 * missing or older than the code it was built from, so a test never runs yesterday's bundles.
 */

const ROOT = join(import.meta.dirname, "..", "..");
const OUT = join(ROOT, "cdk.out");
const STACK = "FerryStack";
const SOURCES = ["functions", "tasks", "shared", "cdk", "package-lock.json"];

interface CfnResource {
	Type: string;
	Properties: Record<string, unknown>;
	Metadata?: Record<string, unknown>;
}

export interface Template {
	Resources: Record<string, CfnResource>;
}

export interface FunctionAsset {
	logicalId: string;
	/** The asset folder, as synth wrote it. */
	dir: string;
	handler: string;
	runtime: string;
	architectures: string[];
	memorySize: number;
	timeoutSeconds: number;
	/** The function's environment; values the stack computes are CloudFormation expressions. */
	environment: Record<string, unknown>;
}

function newestChange(path: string): number {
	const stat = statSync(path);
	if (!stat.isDirectory()) return stat.mtimeMs;
	let newest = stat.mtimeMs;
	for (const entry of readdirSync(path)) newest = Math.max(newest, newestChange(join(path, entry)));
	return newest;
}

export function synthesizedOutput(): { template: Template; outDir: string } {
	const manifest = join(OUT, "manifest.json");
	const stale =
		!existsSync(manifest) || statSync(manifest).mtimeMs < Math.max(...SOURCES.map((s) => newestChange(join(ROOT, s))));
	if (stale) execFileSync("npx", ["cdk", "synth", "--quiet"], { cwd: ROOT, stdio: "inherit" });
	return {
		template: JSON.parse(readFileSync(join(OUT, `${STACK}.template.json`), "utf8")) as Template,
		outDir: OUT,
	};
}

/** Every Node.js function of the stack with its asset folder and settings. */
export function functionAssets(template: Template, outDir: string): FunctionAsset[] {
	return Object.entries(template.Resources)
		.filter(([, r]) => r.Type === "AWS::Lambda::Function" && String(r.Properties.Runtime).startsWith("nodejs"))
		.map(([logicalId, r]) => {
			const p = r.Properties as {
				Handler: string;
				Runtime: string;
				Architectures?: string[];
				MemorySize?: number;
				Timeout?: number;
				Environment?: { Variables?: Record<string, unknown> };
			};
			return {
				logicalId,
				dir: join(outDir, String(r.Metadata?.["aws:asset:path"])),
				handler: p.Handler,
				runtime: p.Runtime,
				architectures: p.Architectures ?? ["x86_64"],
				memorySize: p.MemorySize ?? 128,
				timeoutSeconds: p.Timeout ?? 3,
				environment: p.Environment?.Variables ?? {},
			};
		});
}

/** The function whose logical id starts with `prefix` (ApiFn, SchedulerFn, CopyWorkerFn, VerifyWorkerFn). */
export function functionAsset(assets: FunctionAsset[], prefix: string): FunctionAsset {
	const found = assets.find((a) => a.logicalId.startsWith(prefix));
	if (!found) throw new Error(`the template has no function ${prefix}*: ${assets.map((a) => a.logicalId).join(", ")}`);
	return found;
}

/** The one resource of `type` whose logical id starts with `prefix`. */
export function resource(template: Template, type: string, prefix: string): [string, CfnResource] {
	const found = Object.entries(template.Resources).filter(([id, r]) => r.Type === type && id.startsWith(prefix));
	if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${found.length}`);
	return found[0] as [string, CfnResource];
}

/**
 * Resolves the CloudFormation expressions of an environment (`Ref`, `Fn::GetAtt`, `Fn::Join`)
 * with the values the test gives each `LogicalId` (a Ref) and `LogicalId.Attribute`, the way CloudFormation would at deploy time.
 * An expression naming a resource the test did not provide fails loudly.
 */
export function resolveEnvironment(
	env: Record<string, unknown>,
	values: Record<string, string>,
): Record<string, string> {
	const resolve = (v: unknown): string => {
		if (typeof v === "string") return v;
		const o = v as Record<string, unknown>;
		if (typeof o.Ref === "string") return lookup(o.Ref);
		if (Array.isArray(o["Fn::GetAtt"])) return lookup(`${o["Fn::GetAtt"][0]}.${o["Fn::GetAtt"][1]}`);
		if (Array.isArray(o["Fn::Join"])) {
			const [sep, parts] = o["Fn::Join"] as [string, unknown[]];
			return parts.map(resolve).join(sep);
		}
		throw new Error(`cannot resolve ${JSON.stringify(v)}`);
	};
	const lookup = (key: string): string => {
		const value = values[key];
		if (value === undefined) throw new Error(`the test gives no value for ${key}`);
		return value;
	};
	return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, resolve(v)]));
}

/** The capture-replay container's environment and the folder its image is built from. */
export function taskImage(template: Template, outDir: string): { dir: string; environment: Record<string, unknown> } {
	const [, task] = resource(template, "AWS::ECS::TaskDefinition", "ReplicationCaptureReplay");
	const container = (
		task.Properties.ContainerDefinitions as Array<{ Environment?: { Name: string; Value: unknown }[] }>
	)[0];
	return {
		dir: join(outDir, "capture-replay-image"),
		environment: Object.fromEntries((container?.Environment ?? []).map((e) => [e.Name, e.Value])),
	};
}
