import { useEffect, useRef, useState } from "preact/hooks";
import type { DataSourceObjects } from "../../../../shared/control/datasource-objects.ts";
import { destinationOf, includingRule } from "../../../../shared/model/rule-match.ts";
import type { TableRule } from "../../../../shared/model/rules.ts";
import type { CatalogDatabase, CatalogTable } from "../../../../shared/schema/catalog.ts";
import { num } from "../../ui/format.ts";
import { isIncluded, toggleDatabase, toggleTable } from "./rules-edit.ts";

interface TreeProps {
	catalog: DataSourceObjects;
	rules: TableRule[];
	setRules: (rules: TableRule[]) => void;
	/** Opens a table's own settings (renames, row filter, columns). */
	edit: (database: string, table: CatalogTable) => void;
}

/** A checkbox that can show "some of these" (the DOM property has no attribute). */
function TriState(props: { checked: boolean; mixed: boolean; label: string; onChange: (on: boolean) => void }) {
	const box = useRef<HTMLInputElement>(null);
	useEffect(() => {
		if (box.current) box.current.indeterminate = props.mixed;
	});
	return (
		<input
			ref={box}
			type="checkbox"
			aria-label={props.label}
			checked={props.checked}
			aria-checked={props.mixed ? "mixed" : props.checked}
			onChange={(e) => props.onChange(e.currentTarget.checked)}
		/>
	);
}

/**
 * The source's databases and tables with checkboxes; each tick edits the rule list, and every
 * table shows what the rules make of it (where it goes, filtered, some columns), decided as
 * the server decides it.
 */
export function ObjectTree({ catalog, rules, setRules, edit }: TreeProps) {
	const [open, setOpen] = useState(new Set<string>());
	if (catalog.databases.length === 0) return <p class="hint">The source has no database of its own to migrate.</p>;
	const flip = (db: string) => {
		const next = new Set(open);
		if (next.has(db)) next.delete(db);
		else next.add(db);
		setOpen(next);
	};
	return (
		<ul class="tree" aria-label="Source databases and tables">
			{catalog.databases.map((d) => (
				<DatabaseNode
					key={d.name}
					d={d}
					open={open.has(d.name)}
					flip={() => flip(d.name)}
					rules={rules}
					setRules={setRules}
					edit={edit}
				/>
			))}
		</ul>
	);
}

function DatabaseNode(props: {
	d: CatalogDatabase;
	open: boolean;
	flip: () => void;
	rules: TableRule[];
	setRules: (rules: TableRule[]) => void;
	edit: TreeProps["edit"];
}) {
	const { d, rules, setRules } = props;
	const names = d.tables.map((t) => t.name);
	const picked = names.filter((t) => isIncluded(rules, d.name, t)).length;
	const all = names.length > 0 && picked === names.length;
	const listId = `tree-${d.name}`;
	return (
		<li>
			<div class="tree-row tree-db">
				<button
					type="button"
					class="tree-toggle"
					aria-expanded={props.open}
					aria-controls={listId}
					aria-label={`${props.open ? "Collapse" : "Expand"} database ${d.name}`}
					onClick={props.flip}
				>
					{props.open ? "▾" : "▸"}
				</button>
				<TriState
					label={`Migrate every table of database ${d.name}`}
					checked={all}
					mixed={picked > 0 && !all}
					onChange={(on) => setRules(toggleDatabase(rules, d.name, names, on))}
				/>
				<strong class="tree-name">{d.name}</strong>
				<span class="hint">
					{picked} of {names.length} table(s) and view(s) chosen
				</span>
			</div>
			{props.open && (
				<ul id={listId} class="tree-tables">
					{d.tables.map((t) => (
						<TableNode key={t.name} database={d.name} t={t} rules={rules} setRules={setRules} edit={props.edit} />
					))}
				</ul>
			)}
		</li>
	);
}

function TableNode(props: {
	database: string;
	t: CatalogTable;
	rules: TableRule[];
	setRules: (rules: TableRule[]) => void;
	edit: TreeProps["edit"];
}) {
	const { database, t, rules } = props;
	const name = { database, table: t.name };
	const match = includingRule(rules, name);
	const to = match && destinationOf(match, name);
	const moved = to && (to.database !== database || to.table !== t.name);
	return (
		<li class="tree-row">
			<input
				type="checkbox"
				aria-label={`Migrate ${database}.${t.name}`}
				checked={match !== undefined}
				onChange={(e) => props.setRules(toggleTable(rules, database, t.name, e.currentTarget.checked))}
			/>
			<span class="tree-name">{t.name}</span>
			<span class="hint">
				{t.kind === "view" ? "view" : `table, ~${num(t.rowsEstimate)} rows`}
				{t.kind === "table" && !t.hasKey && <strong class="no-key"> · no primary or unique key</strong>}
			</span>
			{match && (
				<span class="tree-effect">
					{moved && (
						<span>
							→ {to.database}.{to.table}
						</span>
					)}
					{match.rule.where && <span class="tag">filtered</span>}
					{match.rule.columns && <span class="tag">{match.rule.columns.length} column(s)</span>}
				</span>
			)}
			{match && t.kind === "table" && (
				<button type="button" class="link" onClick={() => props.edit(database, t)}>
					Settings<span class="visually-hidden"> of {`${database}.${t.name}`}</span>
				</button>
			)}
		</li>
	);
}
