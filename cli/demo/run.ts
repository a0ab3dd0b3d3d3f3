import { rmSync } from "node:fs";
import { join } from "node:path";
import { FerryClient } from "../../shared/api/client.ts";
import { ferryHome } from "../../shared/config.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { localInstance } from "../../shared/local/instances.ts";
import { startLocalStack } from "../../shared/local/stack.ts";
import { consoleLink } from "../../shared/local/tokens.ts";
import { renderStatus } from "../render.ts";
import { readStatus, TABLES_PAGE } from "../status.ts";
import { compareDatabases } from "./compare.ts";
import { runWriteLoad } from "./load.ts";
import { createSampleDatabase } from "./sample.ts";

const DEMO_DB = "ferry_demo";

/**
 * The README's first command: generate a sample database on the local source, migrate it
 * through Ferry's own API in local mode (schema, full copy, incremental replay and a full
 * verification during replay) while the source keeps taking writes, and prove by query that the
 * destination ends identical.
 */
export async function runDemo(options: { scale: number; writeSeconds: number; stay?: boolean }): Promise<boolean> {
	const [source, destination] = [localInstance("source"), localInstance("destination")];
	console.log(`generating sample database ${DEMO_DB} on ${source.host}:${source.port} ...`);
	const src = await connect(source);
	const counts = await createSampleDatabase(src, DEMO_DB, options.scale);
	await src.end();
	const dst = await connect(destination);
	await dst.query(`DROP DATABASE IF EXISTS ${quoteId(DEMO_DB)}`);
	await dst.end();
	console.log(
		`  ${Object.entries(counts)
			.map(([t, n]) => `${t}: ${n.toLocaleString("en")}`)
			.join(", ")}`,
	);

	// the demo's own state starts empty each time; `ferry local up` keeps its state in ~/.ferry/local
	const home = join(ferryHome(), "demo");
	rmSync(join(home, "local"), { recursive: true, force: true });
	const stack = await startLocalStack({ home, apiPort: 0, workers: 2 });
	const load = new AbortController();
	let writes: Promise<{ transactions: number }> | undefined;
	try {
		const api = new FerryClient(stack.apiUrl, stack.token);
		const engine = "mariadb";
		const s = await api.post<{ id: string }>("/datasources", { name: "demo source", engine, ...source });
		const d = await api.post<{ id: string }>("/datasources", { name: "demo destination", engine, ...destination });
		const project = await api.post<{ id: string }>("/projects", {
			name: "demo",
			sourceId: s.id,
			destinationId: d.id,
			types: ["schema", "full", "incremental", "verification"],
			objects: [{ database: DEMO_DB, table: "*" }],
			options: { parallelism: 4, chunkRows: 20_000 },
			tags: ["demo"],
		});
		console.log(`the source keeps taking writes for ${options.writeSeconds} s while Ferry migrates it`);
		writes = runWriteLoad(source, DEMO_DB, { signal: load.signal, connections: 2, pauseMs: 10 });
		const stopWrites = setTimeout(() => load.abort(), options.writeSeconds * 1000);
		await api.post(`/projects/${project.id}/actions/start`);
		// a viewer's link: whoever watches can look at everything and change nothing
		console.log(`watch it in the web console (as a viewer): ${consoleLink(stack.apiUrl, stack.tokens.viewer)}`);
		const started = Date.now();
		let status: ProjectStatus;
		// running until the copy is done, verification (during replay) has passed, and replay has
		// caught up with the stopped writes
		for (;;) {
			status = await readStatus(api, project.id, { from: 0, limit: TABLES_PAGE });
			process.stdout.write(`${renderStatus(status, TABLES_PAGE)}\n\n`);
			if (status.state !== "running") break;
			const verified = status.steps.find((x) => x.name === "verify")?.state === "done";
			if (verified && load.signal.aborted && status.incremental?.latencySeconds === 0) break;
			await new Promise((r) => setTimeout(r, 2000));
		}
		clearTimeout(stopWrites);
		load.abort();
		const { transactions } = await writes;
		const seconds = (Date.now() - started) / 1000;
		if (status.state !== "running") {
			console.log(`migration stopped in state ${status.state}`);
			return false;
		}
		const totals = status.verification?.run.totals;
		console.log(
			`copied, verified (${totals?.rowsChecked.toLocaleString("en") ?? "?"} rows checked during replay, no differences) and caught up with ${transactions.toLocaleString("en")} source transactions in ${seconds.toFixed(1)} s; checking the destination by query ...`,
		);
		const report = await compareDatabases(source, destination, DEMO_DB);
		for (const line of report.lines) console.log(`  ${line}`);
		console.log(report.identical ? "IDENTICAL: schema and rows match" : "DIFFERENT: see above");
		await api.post(`/projects/${project.id}/actions/pause`);
		if (options.stay) {
			console.log(
				`the API and the console stay up (admin: ${consoleLink(stack.apiUrl, stack.token)}); Ctrl-C stops them`,
			);
			await new Promise<void>((resolve) => process.once("SIGINT", resolve));
		}
		return report.identical;
	} finally {
		load.abort();
		await writes;
		await stack.stop();
	}
}
