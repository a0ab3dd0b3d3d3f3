import { useState } from "preact/hooks";
import type { DataSourceObjects } from "../../../../shared/control/datasource-objects.ts";
import type { TableRule } from "../../../../shared/model/rules.ts";
import type { CatalogTable } from "../../../../shared/schema/catalog.ts";
import { seg } from "../../api.ts";
import { notice } from "../../ui/controls.tsx";
import { useResource } from "../../ui/resource.ts";
import { Loaded } from "../../ui/states.tsx";
import { ObjectTree } from "./object-tree.tsx";
import { isIncluded, parseSettings } from "./rules-edit.ts";
import { RulesList } from "./rules-list.tsx";
import type { StepProps } from "./steps.ts";
import { TableSettingsPanel } from "./table-settings.tsx";

/** The object settings as the file GET/PUT /projects/{id}/objects exchange (ObjectSettings). */
function download(rules: TableRule[], name: string) {
	const blob = new Blob([`${JSON.stringify({ format: "ferry-objects/1", objects: rules }, null, 2)}\n`], {
		type: "application/json",
	});
	const a = document.createElement("a");
	a.href = URL.createObjectURL(blob);
	a.download = `${name.trim().replace(/[^A-Za-z0-9._-]+/g, "-") || "project"}-objects.json`;
	a.click();
	URL.revokeObjectURL(a.href);
}

/** Step 3: the objects, as a tree of the source's databases and tables over the rule list. */
export function ObjectsStep({ draft, update }: StepProps) {
	const catalog = useResource<DataSourceObjects>(`/datasources/${seg(draft.sourceId)}/objects`);
	const [editing, setEditing] = useState<{ database: string; table: CatalogTable } | undefined>();
	const setRules = (rules: TableRule[]) => update({ rules });
	const importFile = async (file: File | undefined) => {
		if (!file) return;
		const parsed = parseSettings(await file.text());
		if (typeof parsed === "string") notice.value = { kind: "error", text: `Not imported: ${parsed}` };
		else {
			setRules(parsed);
			notice.value = { kind: "ok", text: `Imported ${parsed.length} rule(s) from ${file.name}` };
		}
	};
	return (
		<>
			<h2>Objects</h2>
			<div class="toolbar">
				<button type="button" disabled={draft.rules.length === 0} onClick={() => download(draft.rules, draft.name)}>
					Export settings
				</button>
				<label class="button file-button" for="import-settings">
					Import settings…
				</label>
				<input
					id="import-settings"
					class="visually-hidden"
					type="file"
					accept="application/json,.json"
					onChange={(e) => {
						importFile(e.currentTarget.files?.[0]);
						e.currentTarget.value = "";
					}}
				/>
			</div>
			<Loaded r={catalog} what="the source's databases and tables">
				{(c) => {
					const tables = c.databases.flatMap((d) => d.tables.map((t) => ({ d: d.name, t: t.name })));
					const chosen = tables.filter((x) => isIncluded(draft.rules, x.d, x.t)).length;
					return (
						<>
							<p class="hint" role="status">
								{chosen} table(s) and view(s) chosen in all; the source has {c.databases.length} database(s).
							</p>
							<ObjectTree
								catalog={c}
								rules={draft.rules}
								setRules={setRules}
								edit={(database, table) => setEditing({ database, table })}
							/>
						</>
					);
				}}
			</Loaded>
			{editing && (
				<TableSettingsPanel
					key={`${editing.database}.${editing.table.name}`}
					database={editing.database}
					table={editing.table}
					rules={draft.rules}
					setRules={setRules}
					close={() => setEditing(undefined)}
				/>
			)}
			<RulesList rules={draft.rules} setRules={setRules} />
		</>
	);
}
