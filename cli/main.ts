import { readFileSync } from "node:fs";
import { Command } from "commander";
import { buildConsole } from "../console/build.ts";
import { ApiError, FerryClient } from "../shared/api/client.ts";
import { ferryHome } from "../shared/config.ts";
import { startLocalStack } from "../shared/local/stack.ts";
import { consoleLink, localApiToken, tokenFile } from "../shared/local/tokens.ts";
import { Role } from "../shared/model/actor.ts";
import { runDemo } from "./demo/run.ts";
import { renderStatus } from "./render.ts";
import { regionOfApiUrl, sigv4 } from "./sigv4.ts";
import { readStatus, TABLES_PAGE } from "./status.ts";

const DEFAULT_API = "http://127.0.0.1:7300";

/**
 * The caller's token, first found of: --token-file, FERRY_API_TOKEN, --role's local token, the
 * local admin's. A token is never an argument itself: arguments show in `ps` and shell history.
 */
function token(): string {
	const o = program.opts<{ tokenFile?: string; role?: string }>();
	if (o.tokenFile) return readFileSync(o.tokenFile, "utf8").trim();
	if (process.env.FERRY_API_TOKEN) return process.env.FERRY_API_TOKEN;
	const role = Role.safeParse(o.role ?? "admin");
	if (!role.success) throw new Error(`--role must be one of ${Role.options.join(", ")}, not '${o.role}'`);
	return localApiToken(ferryHome(), role.data);
}

/**
 * The API the CLI calls: --api, FERRY_API_URL or local mode's. An API Gateway URL (or --auth
 * sigv4) is called with SigV4 from the AWS credential chain; anything else with a bearer token.
 */
function client(): FerryClient {
	const o = program.opts<{ api?: string; auth?: string }>();
	const url = o.api ?? process.env.FERRY_API_URL ?? DEFAULT_API;
	const auth = o.auth ?? process.env.FERRY_API_AUTH ?? (regionOfApiUrl(url) ? "sigv4" : "bearer");
	if (auth === "bearer") return new FerryClient(url, token());
	if (auth !== "sigv4") throw new Error(`--auth must be bearer or sigv4, not '${auth}'`);
	const region = regionOfApiUrl(url) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
	if (!region) throw new Error(`the region of ${url} is unknown: set AWS_REGION`);
	return new FerryClient(url, sigv4(region));
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

/** Reads a password without it ever appearing in argv or shell history: from a variable or a file. */
function password(opts: { passwordEnv?: string; passwordFile?: string }): string | undefined {
	if (opts.passwordEnv) {
		const v = process.env[opts.passwordEnv];
		if (v === undefined) throw new Error(`environment variable ${opts.passwordEnv} is not set`);
		return v;
	}
	if (opts.passwordFile) return readFileSync(opts.passwordFile, "utf8").replace(/\n$/, "");
	return undefined;
}

const program = new Command("ferry")
	.description("Online migration of MySQL-compatible databases")
	.option("--role <role>", "local mode: call as admin, operator or viewer (that role's token in ~/.ferry/secrets)")
	.option("--token-file <file>", "call with the bearer token in this file (or set FERRY_API_TOKEN)")
	.option("--api <url>", "the API to call (or FERRY_API_URL; default local mode's http://127.0.0.1:7300)")
	.option("--auth <kind>", "bearer (local mode) or sigv4 (AWS; the default for an execute-api URL), or FERRY_API_AUTH");

const local = program.command("local").description("run Ferry on this machine");
local
	.command("up")
	.description("run the API, scheduler and workers in the foreground on the embedded servers")
	.option("--port <n>", "API port", "7300")
	.option("--workers <n>", "copy worker processes", "2")
	.action(async (o) => {
		await buildConsole();
		const stack = await startLocalStack({
			home: ferryHome(),
			apiPort: Number(o.port),
			workers: Number(o.workers),
		});
		console.log(`Ferry local mode: API on ${stack.apiUrl}; bearer tokens (use one with --role or FERRY_API_TOKEN):`);
		for (const role of Role.options) console.log(`  ${role.padEnd(8)} ${tokenFile(ferryHome(), role)}`);
		// the token rides in the fragment, which the browser never sends: it reaches no server log
		console.log(
			`Console (as admin; 'ferry console --role viewer' prints another): ${consoleLink(stack.apiUrl, stack.token)}`,
		);
		const stop = () => stack.stop().then(() => process.exit(0));
		process.on("SIGINT", stop);
		process.on("SIGTERM", stop);
	});

program
	.command("console")
	.description("print the web console's link for a role (local mode; the token is in the link's fragment)")
	.action(() => {
		const role = Role.parse(program.opts().role ?? "admin");
		const api = program.opts<{ api?: string }>().api ?? process.env.FERRY_API_URL ?? DEFAULT_API;
		console.log(consoleLink(api, localApiToken(ferryHome(), role)));
	});

program
	.command("demo")
	.description(
		"migrate a generated sample database (schema, full, incremental under writes, verification) between the two local MariaDB instances and prove it",
	)
	.option("--scale <x>", "sample size factor (1 = about 365,000 rows)", "1")
	.option("--write-seconds <n>", "how long the source keeps taking writes during the migration", "20")
	.option("--stay", "keep the API and the console up after the proof, until Ctrl-C")
	.action(async (o) => {
		await buildConsole();
		const ok = await runDemo({ scale: Number(o.scale), writeSeconds: Number(o.writeSeconds), stay: Boolean(o.stay) });
		process.exitCode = ok ? 0 : 1;
	});

const ds = program.command("datasource").description("data sources (passwords go to the secret store)");
ds.command("list").action(async () => print(await client().get("/datasources")));
ds.command("show <id>").action(async (id) => print(await client().get(`/datasources/${encodeURIComponent(id)}`)));
ds.command("add")
	.requiredOption("--name <name>")
	.requiredOption("--engine <engine>", "mysql | mariadb | oceanbase-mysql | tidb | kafka | rocketmq")
	.option("--host <host>", "database host")
	.option("--port <port>", "database port")
	.option("--user <user>", "database user, or Kafka SASL user")
	.option("--brokers <host:port,...>", "Kafka bootstrap servers")
	.option("--sasl <mechanism>", "Kafka SASL: none | plain | scram-sha-256 | scram-sha-512 | aws-msk-iam")
	.option("--client-id <id>", "Kafka client id")
	.option("--endpoint <host:port>", "RocketMQ 5 proxy endpoint")
	.option("--access-key <key>", "RocketMQ access key (its secret is the password)")
	.option("--tls", "connect with TLS", false)
	.option(
		"--password-env <var>",
		"read the password (SASL password, RocketMQ secret key) from this environment variable",
	)
	.option("--password-file <file>", "read the password from this file")
	.action(async (o) => {
		const { name, engine, tls } = o;
		const secret = password(o) ?? "";
		const body =
			engine === "kafka"
				? {
						brokers: String(o.brokers ?? "").split(","),
						...(o.sasl ? { sasl: o.sasl } : {}),
						...(o.user ? { user: o.user } : {}),
						...(o.clientId ? { clientId: o.clientId } : {}),
					}
				: engine === "rocketmq"
					? { endpoint: o.endpoint, ...(o.accessKey ? { accessKey: o.accessKey } : {}) }
					: { host: o.host, user: o.user, port: Number(o.port) };
		print(await client().post("/datasources", { name, engine, tls, ...body, password: secret }));
	});
ds.command("copy <id> <name>").action(async (id, name) =>
	print(await client().post(`/datasources/${id}/copy`, { name })),
);
ds.command("edit <id>")
	.option("--name <name>")
	.option("--host <host>")
	.option("--port <port>")
	.option("--user <user>")
	.option("--password-env <var>")
	.option("--password-file <file>")
	.action(async (id, o) => {
		const patch = {
			name: o.name,
			host: o.host,
			user: o.user,
			port: o.port && Number(o.port),
			password: password(o),
		};
		print(await client().patch(`/datasources/${id}`, JSON.parse(JSON.stringify(patch))));
	});
ds.command("delete <id>").action(async (id) => {
	await client().delete(`/datasources/${id}`);
	console.log(`deleted ${id}`);
});

const pr = program.command("project").description("migration and synchronization projects");
pr.command("list")
	.option("--tag <tag>")
	.action(async (o) => print(await client().get(`/projects${o.tag ? `?tag=${encodeURIComponent(o.tag)}` : ""}`)));
pr.command("create <file>")
	.description("create a project from a JSON file (see docs/openapi.json, createProject)")
	.action(async (file) => print(await client().post("/projects", readFileSync(file, "utf8"))));
pr.command("show <id>").action(async (id) => print(await client().get(`/projects/${id}`)));
for (const action of ["start", "pause", "resume", "release"]) {
	pr.command(`${action} <id>`).action(async (id) => print(await client().post(`/projects/${id}/actions/${action}`)));
}
pr.command("delete <id>").action(async (id) => {
	await client().delete(`/projects/${id}`);
	console.log(`deleted ${id}`);
});
pr.command("retry <id>")
	.description("retry the failed step")
	.action(async (id) => print(await client().post(`/projects/${id}/ticket`, { decision: "retry" })));
pr.command("skip <id>")
	.description(
		"skip the failed step (not precheck, position, a full copy with nothing copied, nor the switch's writes, drain and stop)",
	)
	.action(async (id) => print(await client().post(`/projects/${id}/ticket`, { decision: "skip" })));
pr.command("waive <id> <finding>")
	.description("accept one blocking precheck finding (its id is in the ticket and in 'project show'), then retry")
	.action(async (id, finding) =>
		print(await client().post(`/projects/${id}/findings/${encodeURIComponent(finding)}/waive`)),
	);
pr.command("export-objects <id>").action(async (id) => print(await client().get(`/projects/${id}/objects`)));
pr.command("import-objects <id> <file>").action(async (id, file) =>
	print(await client().put(`/projects/${id}/objects`, readFileSync(file, "utf8"))),
);
pr.command("events <id>")
	.description("the project's timeline, each event with its author ('global' for data sources and deleted projects)")
	.option("--from <time>", "ISO time, e.g. 2026-12-06T09:00:00Z")
	.option("--to <time>", "ISO time")
	.action(async (id, o) => {
		const query = new URLSearchParams(JSON.parse(JSON.stringify({ from: o.from, to: o.to }))).toString();
		const path = id === "global" ? "/events" : `/projects/${encodeURIComponent(id)}/events`;
		print(await client().get(`${path}${query ? `?${query}` : ""}`));
	});
pr.command("status <id>")
	.description(`the project's steps, streams and verification, and one page of its tables (${TABLES_PAGE} unless told)`)
	.option("--tables-from <n>", "the first table shown (0 is the first)", "0")
	.option("--tables-limit <n>", "tables shown, at most 500; 0: the totals alone", String(TABLES_PAGE))
	.option("--watch", "refresh until the project stops running")
	.option("--json", "print the status as the API gives that page, with the verification's per-table results when read")
	.action(async (id, o) => {
		for (;;) {
			const status = await readStatus(client(), id, { from: o.tablesFrom, limit: o.tablesLimit });
			if (o.json) print(status);
			else process.stdout.write(`${o.watch ? "\x1b[2J\x1b[H" : ""}${renderStatus(status, Number(o.tablesLimit))}\n`);
			if (!o.watch || status.state !== "running") break;
			await new Promise((r) => setTimeout(r, 1000));
		}
	});

const verify = program.command("verify").description("full verification and correction");
verify
	.command("start <id>")
	.description("start or re-run verification (every table, or the given source tables)")
	.option("--table <database.table...>", "verify only these source tables")
	.action(async (id, o) =>
		print(await client().post(`/projects/${id}/verification`, o.table ? { tables: o.table } : {})),
	);
for (const action of ["pause", "resume"]) {
	verify
		.command(`${action} <id>`)
		.action(async (id) => print(await client().post(`/projects/${id}/verification/${action}`)));
}
verify.command("results <id>").action(async (id) => print(await client().get(`/projects/${id}/verification`)));
verify
	.command("differences <id>")
	.description("the inconsistent rows of the last run, as JSON")
	.action(async (id) => print(await client().get(`/projects/${id}/verification/differences`)));
verify
	.command("correction-sql <id>")
	.description("print the correction SQL for the last run (built from the source's current data)")
	.action(async (id) => {
		const { script } = await client().get<{ script: string }>(`/projects/${id}/verification/correction`);
		process.stdout.write(script);
	});
verify
	.command("correct <id>")
	.description("apply the correction SQL at the destination, then re-verify the corrected tables")
	.action(async (id) => print(await client().post(`/projects/${id}/verification/correction`)));

const switchover = program.command("switchover").description("forward switchover (and reverse replay)");
switchover
	.command("start <id>")
	.option("--max-latency <seconds>", "largest replay latency allowed at the switch", "5")
	.option("--waive-verification", "switch without a clean verification")
	.action(async (id, o) =>
		print(
			await client().post(`/projects/${id}/switchover`, {
				maxLatencySeconds: Number(o.maxLatency),
				waiveVerification: o.waiveVerification === true,
			}),
		),
	);
switchover
	.command("writes-stopped <id>")
	.description("confirm the application stopped writing to the source")
	.action(async (id) => print(await client().post(`/projects/${id}/switchover/writes-stopped`)));

program.parseAsync().catch((err) => {
	if (err instanceof ApiError) console.error(`error ${err.status} ${err.code}: ${err.message}`);
	else if ((err as Error).message === "fetch failed")
		console.error(
			`Ferry's API is not reachable at ${program.opts<{ api?: string }>().api ?? process.env.FERRY_API_URL ?? DEFAULT_API}: start it with 'ferry local up', or name it with --api`,
		);
	else console.error(`error: ${(err as Error).message}`);
	process.exit(1);
});
