import { useState } from "preact/hooks";
import type { TableRule } from "../../../../shared/model/rules.ts";
import type { CatalogTable } from "../../../../shared/schema/catalog.ts";
import { setTableSettings, settingsOf } from "./rules-edit.ts";

/** One table's own rule: where it goes (database and table), which rows (a WHERE expression) and columns. */
export function TableSettingsPanel(props: {
	database: string;
	table: CatalogTable;
	rules: TableRule[];
	setRules: (rules: TableRule[]) => void;
	close: () => void;
}) {
	const { database, table } = props;
	const now = settingsOf(props.rules, database, table.name);
	const [renameDatabase, setRenameDatabase] = useState(now.renameDatabase ?? "");
	const [renameTable, setRenameTable] = useState(now.renameTable ?? "");
	const [where, setWhere] = useState(now.where ?? "");
	const [columns, setColumns] = useState(new Set(now.columns ?? table.columns));
	const save = () => {
		const some = table.columns.filter((c) => columns.has(c));
		props.setRules(
			setTableSettings(props.rules, database, table.name, {
				renameDatabase: renameDatabase.trim() || undefined,
				renameTable: renameTable.trim() || undefined,
				where: where.trim() || undefined,
				columns: some.length === table.columns.length ? undefined : some,
			}),
		);
		props.close();
	};
	const flip = (c: string, on: boolean) => {
		const next = new Set(columns);
		if (on) next.add(c);
		else next.delete(c);
		setColumns(next);
	};
	return (
		<section class="panel table-settings" aria-labelledby="table-settings-title">
			<h3 id="table-settings-title">
				Settings of {database}.{table.name}
			</h3>
			<div class="form-row">
				<div>
					<label for="ts-db">Destination database</label>
					<input
						id="ts-db"
						placeholder={database}
						value={renameDatabase}
						maxLength={64}
						onInput={(e) => setRenameDatabase(e.currentTarget.value)}
					/>
				</div>
				<div>
					<label for="ts-table">Destination table</label>
					<input
						id="ts-table"
						placeholder={table.name}
						value={renameTable}
						maxLength={64}
						onInput={(e) => setRenameTable(e.currentTarget.value)}
					/>
				</div>
			</div>
			<label for="ts-where">Row filter (SQL WHERE over the source's columns)</label>
			<input
				id="ts-where"
				class="wide"
				placeholder="all rows, e.g. created_at >= '2024-01-01'"
				value={where}
				maxLength={4000}
				onInput={(e) => setWhere(e.currentTarget.value)}
			/>
			<fieldset class="columns">
				<legend>
					Columns to copy ({columns.size} of {table.columns.length})
				</legend>
				{table.columns.map((c) => (
					<label key={c} class="check">
						<input type="checkbox" checked={columns.has(c)} onChange={(e) => flip(c, e.currentTarget.checked)} /> {c}
					</label>
				))}
			</fieldset>
			<div class="toolbar">
				<button type="button" class="primary" onClick={save} disabled={columns.size === 0}>
					Save table settings
				</button>
				<button type="button" onClick={props.close}>
					Cancel
				</button>
			</div>
		</section>
	);
}
