import { useState } from "preact/hooks";
import type { DataSource } from "../../../shared/model/datasource.ts";
import { ApiError, api, seg } from "../api.ts";
import { href, navigate } from "../router.ts";
import { can, notAllowed } from "../session.ts";
import { notice } from "../ui/controls.tsx";
import { useResource } from "../ui/resource.ts";
import { Loaded } from "../ui/states.tsx";
import type { ScreenProps } from "./index.ts";

const DATABASES = ["mysql", "mariadb", "tidb", "oceanbase-mysql"] as const;
const ENGINES = [...DATABASES, "kafka", "rocketmq"] as const;
type EngineName = (typeof ENGINES)[number];
const SASL = ["none", "plain", "scram-sha-256", "scram-sha-512", "aws-msk-iam"] as const;

/** The form's fields as typed; the body sent is built from the ones the engine uses. */
interface Fields {
	engine: EngineName;
	name: string;
	description: string;
	host: string;
	port: string;
	user: string;
	password: string;
	tls: boolean;
	brokers: string;
	sasl: (typeof SASL)[number];
	clientId: string;
	endpoint: string;
	accessKey: string;
	namespace: string;
}

const BLANK: Fields = {
	engine: "mysql",
	name: "",
	description: "",
	host: "",
	port: "3306",
	user: "",
	password: "",
	tls: false,
	brokers: "",
	sasl: "none",
	clientId: "ferry",
	endpoint: "",
	accessKey: "",
	namespace: "",
};

function fieldsOf(ds: DataSource): Fields {
	const f: Fields = { ...BLANK, engine: ds.engine as EngineName, name: ds.name, description: ds.description ?? "" };
	f.tls = ds.tls;
	if (ds.engine === "kafka")
		return { ...f, brokers: ds.brokers.join(", "), sasl: ds.sasl, user: ds.user ?? "", clientId: ds.clientId };
	if (ds.engine === "rocketmq")
		return { ...f, endpoint: ds.endpoint, accessKey: ds.accessKey ?? "", namespace: ds.namespace ?? "" };
	return { ...f, host: ds.host, port: String(ds.port), user: ds.user };
}

const isDatabase = (e: EngineName) => (DATABASES as readonly string[]).includes(e);
const optional = (s: string) => (s.trim() === "" ? undefined : s.trim());

/** The connection part of the body, as shared/model/datasource.ts defines it per engine. */
function connectionOf(f: Fields): Record<string, unknown> {
	if (f.engine === "kafka") {
		const brokers = f.brokers
			.split(/[\s,]+/)
			.map((b) => b.trim())
			.filter(Boolean);
		const withUser = f.sasl !== "none" && f.sasl !== "aws-msk-iam";
		return { brokers, tls: f.tls, sasl: f.sasl, user: withUser ? optional(f.user) : undefined, clientId: f.clientId };
	}
	if (f.engine === "rocketmq")
		return {
			endpoint: f.endpoint.trim(),
			tls: f.tls,
			accessKey: optional(f.accessKey),
			namespace: optional(f.namespace),
		};
	return { host: f.host.trim(), port: Number(f.port), user: f.user.trim(), tls: f.tls };
}

function Field({
	id,
	label,
	children,
	hint,
}: {
	id: string;
	label: string;
	children: preact.ComponentChildren;
	hint?: string;
}) {
	return (
		<div>
			<label for={id}>{label}</label>
			{children}
			{hint && (
				<p class="hint" id={`${id}-hint`}>
					{hint}
				</p>
			)}
		</div>
	);
}

type Outcome = { kind: "ok"; text: string } | { kind: "error"; code: string; text: string } | undefined;

/**
 * Add or edit a data source. Its connection (a database's login, a broker's metadata) is tested
 * first (POST /datasources/test) and Save stays off until the values as typed passed; saving
 * tests again server-side. Editing leaves the password empty: the stored one is kept.
 */
function DataSourceForm({ existing }: { existing?: DataSource }) {
	const [f, setF] = useState<Fields>(existing ? fieldsOf(existing) : BLANK);
	const [tested, setTested] = useState<string | undefined>(undefined);
	const [outcome, setOutcome] = useState<Outcome>(undefined);
	const [busy, setBusy] = useState<"test" | "save" | undefined>(undefined);
	const set = (patch: Partial<Fields>) => {
		setF((old) => ({ ...old, ...patch }));
		setOutcome(undefined);
	};
	const connection = connectionOf(f);
	const fingerprint = JSON.stringify({ ...connection, engine: f.engine, password: f.password });
	const database = isDatabase(f.engine);
	const editing = existing !== undefined;
	// editing with the password left empty: the stored one is used, and only the save can test with it
	const mustTest = !(editing && f.password === "");
	const admin = can("admin");

	const fail = (err: unknown) => {
		const e = err as Error;
		setOutcome({ kind: "error", code: e instanceof ApiError ? e.code : "", text: e.message });
	};
	const test = async () => {
		setBusy("test");
		try {
			const r = await api.post<{ version: string }>("/datasources/test", {
				engine: f.engine,
				...connection,
				password: f.password,
			});
			setTested(fingerprint);
			setOutcome({ kind: "ok", text: `Connected: the server is version ${r.version}.` });
		} catch (err) {
			setTested(undefined);
			fail(err);
		} finally {
			setBusy(undefined);
		}
	};
	const save = async (e: Event) => {
		e.preventDefault();
		setBusy("save");
		const described = { name: f.name.trim(), description: optional(f.description) };
		try {
			let saved: DataSource;
			if (existing) {
				const body = { ...described, ...connection, ...(f.password ? { password: f.password } : {}) };
				saved = await api.patch<DataSource>(`/datasources/${seg(existing.id)}`, body);
			} else {
				saved = await api.post<DataSource>("/datasources", {
					...described,
					engine: f.engine,
					...connection,
					password: f.password,
				});
			}
			notice.value = { kind: "ok", text: `Data source '${saved.name}' ${existing ? "saved" : "added"}` };
			navigate(`/datasources/${saved.id}`);
		} catch (err) {
			fail(err);
		} finally {
			setBusy(undefined);
		}
	};
	const canSave = admin && f.name.trim() !== "" && (!mustTest || tested === fingerprint) && !busy;
	const saveWhy = !admin
		? notAllowed("admin")
		: mustTest && tested !== fingerprint
			? "test the connection as typed first"
			: undefined;
	const secretLabel = f.engine === "rocketmq" ? "Secret key" : f.engine === "kafka" ? "SASL password" : "Password";

	return (
		<form class="panel ds-form" onSubmit={save}>
			<div class="form-row">
				<Field id="ds-engine" label="Engine">
					<select
						id="ds-engine"
						value={f.engine}
						disabled={editing}
						onChange={(e) => {
							const engine = e.currentTarget.value as EngineName;
							set({ engine, port: engine === "tidb" ? "4000" : engine === "oceanbase-mysql" ? "2881" : "3306" });
						}}
					>
						{ENGINES.map((e) => (
							<option key={e} value={e}>
								{e}
							</option>
						))}
					</select>
				</Field>
				<Field id="ds-name" label="Name">
					<input id="ds-name" required value={f.name} onInput={(e) => set({ name: e.currentTarget.value })} />
				</Field>
			</div>
			<Field id="ds-description" label="Description (optional)">
				<input
					id="ds-description"
					class="wide"
					value={f.description}
					onInput={(e) => set({ description: e.currentTarget.value })}
				/>
			</Field>
			{database && (
				<div class="form-row">
					<Field id="ds-host" label="Host">
						<input id="ds-host" required value={f.host} onInput={(e) => set({ host: e.currentTarget.value })} />
					</Field>
					<Field id="ds-port" label="Port">
						<input
							id="ds-port"
							type="number"
							min={1}
							max={65535}
							required
							value={f.port}
							onInput={(e) => set({ port: e.currentTarget.value })}
						/>
					</Field>
					<Field id="ds-user" label="User">
						<input id="ds-user" required value={f.user} onInput={(e) => set({ user: e.currentTarget.value })} />
					</Field>
				</div>
			)}
			{f.engine === "kafka" && (
				<div class="form-row">
					<Field id="ds-brokers" label="Brokers" hint="host:port, separated by commas">
						<input
							id="ds-brokers"
							required
							aria-describedby="ds-brokers-hint"
							value={f.brokers}
							onInput={(e) => set({ brokers: e.currentTarget.value })}
						/>
					</Field>
					<Field id="ds-sasl" label="SASL">
						<select
							id="ds-sasl"
							value={f.sasl}
							onChange={(e) => set({ sasl: e.currentTarget.value as Fields["sasl"] })}
						>
							{SASL.map((s) => (
								<option key={s} value={s}>
									{s}
								</option>
							))}
						</select>
					</Field>
					{(f.sasl === "plain" || f.sasl.startsWith("scram")) && (
						<Field id="ds-user" label="SASL user">
							<input id="ds-user" value={f.user} onInput={(e) => set({ user: e.currentTarget.value })} />
						</Field>
					)}
					<Field id="ds-client" label="Client id">
						<input id="ds-client" value={f.clientId} onInput={(e) => set({ clientId: e.currentTarget.value })} />
					</Field>
				</div>
			)}
			{f.engine === "rocketmq" && (
				<div class="form-row">
					<Field id="ds-endpoint" label="Proxy endpoint" hint="the RocketMQ 5 proxy's gRPC host:port">
						<input
							id="ds-endpoint"
							required
							aria-describedby="ds-endpoint-hint"
							value={f.endpoint}
							onInput={(e) => set({ endpoint: e.currentTarget.value })}
						/>
					</Field>
					<Field id="ds-access" label="Access key (optional)">
						<input id="ds-access" value={f.accessKey} onInput={(e) => set({ accessKey: e.currentTarget.value })} />
					</Field>
					<Field id="ds-namespace" label="Namespace (optional)">
						<input id="ds-namespace" value={f.namespace} onInput={(e) => set({ namespace: e.currentTarget.value })} />
					</Field>
				</div>
			)}
			<div class="form-row">
				{!(f.engine === "kafka" && f.sasl === "none") && (
					<Field
						id="ds-password"
						label={secretLabel}
						hint={
							editing
								? "Leave empty to keep the stored one while the address and user stay the same. It is never shown again."
								: "Kept in the secret store; never shown again."
						}
					>
						<input
							id="ds-password"
							type="password"
							autocomplete="new-password"
							aria-describedby="ds-password-hint"
							value={f.password}
							onInput={(e) => set({ password: e.currentTarget.value })}
						/>
					</Field>
				)}
				<div class="checkbox">
					<input id="ds-tls" type="checkbox" checked={f.tls} onChange={(e) => set({ tls: e.currentTarget.checked })} />
					<label for="ds-tls">Connect with TLS</label>
				</div>
			</div>
			{outcome && (
				<div class={`form-outcome outcome-${outcome.kind}`} role={outcome.kind === "error" ? "alert" : "status"}>
					{outcome.kind === "error" && outcome.code && <code class="code-chip">{outcome.code}</code>} {outcome.text}
				</div>
			)}
			<div class="toolbar form-actions">
				{
					<button
						type="button"
						disabled={!can("operate") || !!busy || (editing && f.password === "")}
						title={
							notAllowed("operate") ??
							(editing && f.password === "" ? "saving tests the connection with the stored password" : undefined)
						}
						aria-busy={busy === "test"}
						onClick={test}
					>
						{busy === "test" ? "Testing…" : "Test connection"}
					</button>
				}
				<button type="submit" class="primary" disabled={!canSave} title={saveWhy} aria-busy={busy === "save"}>
					{busy === "save" ? "Saving…" : existing ? "Save" : "Add data source"}
				</button>
				<a href={href(existing ? `/datasources/${existing.id}` : "/datasources")}>Cancel</a>
			</div>
			<p class="hint">
				{mustTest
					? "Test the connection first; saving tests it again."
					: "Saving tests the connection again with the stored password."}
			</p>
		</form>
	);
}

export function NewDataSourceScreen() {
	return (
		<>
			<h1>Add a data source</h1>
			<DataSourceForm />
		</>
	);
}

export function EditDataSourceScreen({ params }: ScreenProps) {
	const id = params.id ?? "";
	const source = useResource<DataSource>(`/datasources/${seg(id)}`);
	return (
		<>
			<h1>Edit data source {source.data?.name ?? id}</h1>
			<Loaded r={source} what="the data source">
				{(ds) => <DataSourceForm existing={ds} />}
			</Loaded>
		</>
	);
}
