import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import { buildSync } from "esbuild";
import { BROKER_CLIENTS } from "./functions.ts";
import { type Lockfile, lockSubset } from "./lockfile.ts";

/**
 * The capture-replay task's container: tasks/replication bundled by esbuild into one ESM file,
 * like the Lambda functions, plus what cannot be inlined installed beside it: @vlasky/zongji
 * (Ferry patches a few of its internals at load time, found by resolving its files) and the
 * broker clients (BROKER_CLIENTS), at the versions and with the transitive dependencies that
 * package-lock.json holds (a lockfile subset, so `npm ci` builds the same image every time and
 * installs the arm64 native packages on the arm64 build). The image is built by `cdk deploy` from
 * this directory; synth only writes the directory.
 */
const KEPT_OUTSIDE = ["@vlasky/zongji", ...BROKER_CLIENTS];

const DOCKERFILE = `FROM public.ecr.aws/docker/library/node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY main.mjs ./
USER node
# SIGTERM reaches node directly: the task stops replay at a transaction boundary
CMD ["node", "main.mjs"]
`;

const IMAGE_PACKAGE = "ferry-capture-replay";

/** Writes the image's build directory: Dockerfile, package.json, package-lock.json and (when `bundle`) main.mjs. */
export function writeReplicationTaskContext(sourceRoot: string, outDir: string, bundle = true): void {
	mkdirSync(outDir, { recursive: true });
	const lock = lockSubset(
		JSON.parse(readFileSync(join(sourceRoot, "package-lock.json"), "utf8")) as Lockfile,
		IMAGE_PACKAGE,
		KEPT_OUTSIDE,
	);
	const dependencies = lock.packages[""]?.dependencies;
	const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
	writeFileSync(
		join(outDir, "package.json"),
		json({ name: IMAGE_PACKAGE, private: true, type: "module", dependencies }),
	);
	writeFileSync(join(outDir, "package-lock.json"), json(lock));
	writeFileSync(join(outDir, "Dockerfile"), DOCKERFILE);
	if (!bundle) return;
	buildSync({
		entryPoints: [join(sourceRoot, "tasks/replication/main.ts")],
		outfile: join(outDir, "main.mjs"),
		bundle: true,
		platform: "node",
		target: "node24",
		format: "esm",
		external: KEPT_OUTSIDE,
		// bundled CommonJS dependencies call require()
		banner: {
			js: 'import { createRequire as ferryRequire } from "node:module"; const require = ferryRequire(import.meta.url);',
		},
		logLevel: "warning",
	});
}

/** The image asset (arm64, as the task definition's runtime platform). */
export function replicationTaskImage(sourceRoot: string, outDir: string, bundle: boolean): ecs.ContainerImage {
	writeReplicationTaskContext(sourceRoot, outDir, bundle);
	return ecs.ContainerImage.fromAsset(outDir, { platform: Platform.LINUX_ARM64 });
}
