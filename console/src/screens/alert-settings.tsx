import { useState } from "preact/hooks";
import type { AlertDefinition, AlertSettings, EffectiveSettings } from "../../../shared/alerts/catalogue.ts";
import { api } from "../api.ts";
import { href } from "../router.ts";
import { can } from "../session.ts";
import { Action } from "../ui/controls.tsx";
import { time } from "../ui/format.ts";
import { useResource } from "../ui/resource.ts";
import { Loaded } from "../ui/states.tsx";

interface DefaultsView {
	catalogue: AlertDefinition[];
	defaults: AlertSettings;
	effective: EffectiveSettings;
}

interface WebhookView {
	url: string | null;
	updatedAt?: string;
	updatedBy?: string;
}

/** Only what differs from the catalogue is stored, so a default changed in a later release still reaches it. */
function overrides(catalogue: AlertDefinition[], edited: EffectiveSettings): AlertSettings {
	const alerts: NonNullable<AlertSettings["alerts"]> = {};
	for (const def of catalogue) {
		const rule = edited.alerts[def.name];
		const thresholds = Object.fromEntries(
			Object.entries(rule.thresholds).filter(([k, v]) => v !== def.thresholds[k]?.default),
		);
		const changed = {
			...(rule.enabled ? {} : { enabled: false }),
			...(Object.keys(thresholds).length ? { thresholds } : {}),
		};
		if (Object.keys(changed).length) alerts[def.name] = changed;
	}
	return { evaluationSeconds: edited.evaluationSeconds, alerts };
}

function DefaultsForm({ view, reload }: { view: DefaultsView; reload: () => void }) {
	const [edited, setEdited] = useState<EffectiveSettings>(view.effective);
	const locked = !can("admin");
	const setRule = (name: AlertDefinition["name"], change: Partial<EffectiveSettings["alerts"][typeof name]>) =>
		setEdited((e) => ({ ...e, alerts: { ...e.alerts, [name]: { ...e.alerts[name], ...change } } }));
	return (
		<>
			<label for="evaluation">Evaluate every (seconds)</label>
			<input
				id="evaluation"
				type="number"
				min={1}
				max={3600}
				disabled={locked}
				value={edited.evaluationSeconds}
				onInput={(e) => setEdited((s) => ({ ...s, evaluationSeconds: Number(e.currentTarget.value) }))}
			/>
			<div class="table-wrap">
				<table class="named-rows">
					<caption class="visually-hidden">The alert catalogue with its thresholds</caption>
					<thead>
						<tr>
							<th scope="col">Alert</th>
							<th scope="col">Watches</th>
							<th scope="col">On</th>
							<th scope="col">Thresholds</th>
						</tr>
					</thead>
					<tbody>
						{view.catalogue.map((def) => {
							const rule = edited.alerts[def.name];
							return (
								<tr key={def.name}>
									<th scope="row">
										<code>{def.name}</code>
									</th>
									<td>{def.watches}</td>
									<td class="center">
										<input
											type="checkbox"
											aria-label={`${def.name} enabled`}
											disabled={locked}
											checked={rule.enabled}
											onChange={(e) => setRule(def.name, { enabled: e.currentTarget.checked })}
										/>
									</td>
									<td>
										{Object.keys(def.thresholds).length === 0 && <span class="no">none</span>}
										{Object.entries(def.thresholds).map(([key, t]) => (
											<div key={key} class="threshold">
												<label for={`${def.name}-${key}`}>
													{key} ({t.unit})
												</label>
												<input
													id={`${def.name}-${key}`}
													type="number"
													min={0}
													disabled={locked}
													aria-describedby={`${def.name}-${key}-means`}
													value={rule.thresholds[key]}
													onInput={(e) =>
														setRule(def.name, {
															thresholds: { ...rule.thresholds, [key]: Number(e.currentTarget.value) },
														})
													}
												/>
												<span class="hint" id={`${def.name}-${key}-means`}>
													{t.meaning}; default {t.default}
												</span>
											</div>
										))}
									</td>
								</tr>
							);
						})}
					</tbody>
				</table>
			</div>
			<div class="toolbar form-actions">
				<Action
					access="admin"
					kind="primary"
					run={async () => {
						await api.put("/alerts/settings", overrides(view.catalogue, edited));
						reload();
						return "Alert defaults saved: projects use them from their next evaluation";
					}}
				>
					Save defaults
				</Action>
			</div>
		</>
	);
}

function WebhookForm({ hook, reload }: { hook: WebhookView; reload: () => void }) {
	const [url, setUrl] = useState(hook.url ?? "");
	const [secret, setSecret] = useState("");
	const locked = !can("admin");
	return (
		<>
			<p>
				{hook.url ? (
					<>
						Notifications go to <code>{hook.url}</code>
						{hook.updatedAt && (
							<span title={time(hook.updatedAt).title}>
								{" "}
								(set by {hook.updatedBy ?? "someone"} on {time(hook.updatedAt).text})
							</span>
						)}
						.
					</>
				) : (
					"No webhook: alerts are only kept in the history."
				)}
			</p>
			<div class="form-row">
				<div>
					<label for="hook-url">URL</label>
					<input
						id="hook-url"
						type="url"
						disabled={locked}
						placeholder="https://alerts.example.com/ferry"
						value={url}
						onInput={(e) => setUrl(e.currentTarget.value)}
					/>
				</div>
				<div>
					<label for="hook-secret">Signing secret</label>
					<input
						id="hook-secret"
						type="password"
						autocomplete="new-password"
						disabled={locked}
						aria-describedby="hook-secret-hint"
						value={secret}
						onInput={(e) => setSecret(e.currentTarget.value)}
					/>
				</div>
			</div>
			<p class="hint" id="hook-secret-hint">
				At least 16 characters; the receiver checks each request's X-Ferry-Signature with it. It is never shown again:
				setting the webhook always takes a secret.
			</p>
			<div class="toolbar form-actions">
				<Action
					access="admin"
					kind="primary"
					disabled={url === "" || secret.length < 16}
					title="a URL and a secret of at least 16 characters"
					run={async () => {
						await api.put("/alerts/webhook", { url, secret });
						setSecret("");
						reload();
						return "Webhook saved";
					}}
				>
					Save webhook
				</Action>
				<Action
					access="admin"
					kind="danger"
					disabled={!hook.url}
					confirm="Stop sending alert notifications to the webhook?"
					run={async () => {
						await api.del("/alerts/webhook");
						setUrl("");
						reload();
						return "Webhook removed";
					}}
				>
					Remove webhook
				</Action>
			</div>
		</>
	);
}

/** The alert catalogue's defaults every project starts from, and where notifications go. */
export function AlertSettingsScreen() {
	const defaults = useResource<DefaultsView>("/alerts/settings");
	const hook = useResource<WebhookView>("/alerts/webhook");
	return (
		<>
			<h1>Alert settings</h1>
			<p>
				<a href={href("/alerts")}>Alerts</a> · Defaults for every project; a project may override them on its own page.{" "}
				{can("admin") ? "" : "Only an admin may change them."}
			</p>
			<section class="panel">
				<h2>Alerts and thresholds</h2>
				<Loaded r={defaults} what="alert settings">
					{(view) => <DefaultsForm key={JSON.stringify(view.effective)} view={view} reload={defaults.reload} />}
				</Loaded>
			</section>
			<section class="panel">
				<h2>Webhook</h2>
				<Loaded r={hook} what="the webhook">
					{(h) => <WebhookForm key={h.url ?? ""} hook={h} reload={hook.reload} />}
				</Loaded>
			</section>
		</>
	);
}
