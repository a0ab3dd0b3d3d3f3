/**
 * Builds the web console (console/src) into console/dist: one hashed script and stylesheet and an
 * index.html that names them. esbuild, which already bundles the Lambda functions, does the work;
 * see docs/decisions/2026-12-06-console-stack.md. Run: `npm run build:console`; `ferry local up` and
 * scripts/setup.sh run it too.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL(".", import.meta.url));

export async function buildConsole(outDir = join(ROOT, "dist")): Promise<void> {
	rmSync(outDir, { recursive: true, force: true });
	mkdirSync(join(outDir, "assets"), { recursive: true });
	const result = await build({
		entryPoints: { app: join(ROOT, "src", "main.tsx") },
		bundle: true,
		format: "esm",
		minify: true,
		sourcemap: "linked",
		target: "es2022",
		jsx: "automatic",
		jsxImportSource: "preact",
		outdir: join(outDir, "assets"),
		entryNames: "[name]-[hash]",
		metafile: true,
		logLevel: "warning",
	});
	const outputs = Object.keys(result.metafile.outputs).map((f) => basename(f));
	const script = outputs.find((f) => f.endsWith(".js"));
	const style = outputs.find((f) => f.endsWith(".css"));
	if (!script || !style) throw new Error(`the console build made no script or no stylesheet: ${outputs.join(", ")}`);
	const html = readFileSync(join(ROOT, "index.html"), "utf8")
		.replace("%SCRIPT%", `/assets/${script}`)
		.replace("%STYLE%", `/assets/${style}`);
	writeFileSync(join(outDir, "index.html"), html);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	await buildConsole(process.argv[2]);
	console.log("console built into console/dist");
}
