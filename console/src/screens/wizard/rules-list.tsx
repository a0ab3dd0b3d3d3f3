import { useState } from "preact/hooks";
import type { TableRule } from "../../../../shared/model/rules.ts";
import { moveRule } from "./rules-edit.ts";

/** What a rule does, in words. */
function describe(r: TableRule): string {
	const parts: string[] = [];
	if (r.renameDatabase || r.renameTable)
		parts.push(`to ${r.renameDatabase ?? "(same database)"}.${r.renameTable ?? "(same name)"}`);
	if (r.where) parts.push(`rows where ${r.where}`);
	if (r.columns) parts.push(`columns ${r.columns.join(", ")}`);
	return parts.join("; ");
}

/** The rules in order (the last matching one decides about a table), with a form for wildcard rules. */
export function RulesList({ rules, setRules }: { rules: TableRule[]; setRules: (rules: TableRule[]) => void }) {
	const [database, setDatabase] = useState("");
	const [table, setTable] = useState("*");
	const [exclude, setExclude] = useState(false);
	const [renameDatabase, setRenameDatabase] = useState("");
	const add = () => {
		const rule: TableRule = { database: database.trim(), table: table.trim() || "*", exclude };
		if (!exclude && renameDatabase.trim()) rule.renameDatabase = renameDatabase.trim();
		setRules([...rules, rule]);
		setDatabase("");
		setTable("*");
		setExclude(false);
		setRenameDatabase("");
	};
	return (
		<section aria-labelledby="rules-title">
			<h3 id="rules-title">Rules, in order</h3>
			<p class="hint">
				<code>*</code> matches any run of characters and <code>?</code> one; for each table the last rule matching it
				decides whether it goes and how. The tree's ticks add and remove rules here.
			</p>
			{rules.length === 0 ? (
				<p class="hint">No rule yet: tick tables in the tree or add a rule below.</p>
			) : (
				<div class="table-wrap">
					<table class="rules">
						<caption class="visually-hidden">Object rules</caption>
						<thead>
							<tr>
								<th scope="col">#</th>
								<th scope="col">Database</th>
								<th scope="col">Table</th>
								<th scope="col">Does</th>
								<th scope="col">Settings</th>
								<th scope="col">
									<span class="visually-hidden">Order and removal</span>
								</th>
							</tr>
						</thead>
						<tbody>
							{rules.map((r, i) => (
								<tr key={i}>
									<td>{i + 1}</td>
									<td>
										<code>{r.database}</code>
									</td>
									<td>
										<code>{r.table}</code>
									</td>
									<td>{r.exclude ? <span class="badge badge-warn">exclude</span> : "include"}</td>
									<td>{describe(r)}</td>
									<td class="rule-buttons">
										<button
											type="button"
											aria-label={`Move rule ${i + 1} up`}
											disabled={i === 0}
											onClick={() => setRules(moveRule(rules, i, i - 1))}
										>
											↑
										</button>
										<button
											type="button"
											aria-label={`Move rule ${i + 1} down`}
											disabled={i === rules.length - 1}
											onClick={() => setRules(moveRule(rules, i, i + 1))}
										>
											↓
										</button>
										<button
											type="button"
											aria-label={`Remove rule ${i + 1}`}
											onClick={() => setRules(rules.filter((_, j) => j !== i))}
										>
											Remove
										</button>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
			<form
				class="add-rule"
				aria-label="Add a rule"
				onSubmit={(e) => {
					e.preventDefault();
					add();
				}}
			>
				<div class="form-row">
					<div>
						<label for="rule-db">Database pattern</label>
						<input
							id="rule-db"
							required
							maxLength={64}
							value={database}
							onInput={(e) => setDatabase(e.currentTarget.value)}
						/>
					</div>
					<div>
						<label for="rule-table">Table pattern</label>
						<input
							id="rule-table"
							required
							maxLength={64}
							value={table}
							onInput={(e) => setTable(e.currentTarget.value)}
						/>
					</div>
					<div>
						<label for="rule-rename">Rename database to</label>
						<input
							id="rule-rename"
							maxLength={64}
							disabled={exclude}
							value={renameDatabase}
							onInput={(e) => setRenameDatabase(e.currentTarget.value)}
						/>
					</div>
				</div>
				<label class="check">
					<input type="checkbox" checked={exclude} onChange={(e) => setExclude(e.currentTarget.checked)} /> Exclude what
					it matches
				</label>
				<button type="submit" disabled={database.trim() === ""}>
					Add rule
				</button>
			</form>
		</section>
	);
}
