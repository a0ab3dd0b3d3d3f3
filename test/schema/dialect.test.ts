import { describe, expect, it } from "vitest";
import type { Engine } from "../../shared/model/datasource.ts";
import { convertCharset } from "../../shared/schema/dialect/charsets.ts";
import { convertColumn } from "../../shared/schema/dialect/columns.ts";
import type { DialectContext } from "../../shared/schema/dialect/rules.ts";
import { convertCheck, convertForeignKey, convertIndex, convertTable } from "../../shared/schema/dialect/tables.ts";
import { planSchema } from "../../shared/schema/plan.ts";
import type {
	ColumnSchema,
	IndexSchema,
	SchemaSnapshot,
	ServerFlavor,
	TableSchema,
} from "../../shared/schema/snapshot.ts";

/** Conversions of each destination dialect, from hand-made source objects. */

function ctx(engine: Engine, version?: string, source: ServerFlavor = "mariadb"): DialectContext {
	return { source, destination: { engine, ...(version ? { version } : {}) } };
}

function column(overrides: Partial<ColumnSchema>): ColumnSchema {
	return {
		name: "c",
		dataType: "int",
		columnType: "int(11)",
		nullable: true,
		default: { kind: "null" },
		charset: null,
		collation: null,
		comment: "",
		generated: null,
		autoIncrement: false,
		onUpdate: null,
		invisible: false,
		check: null,
		...overrides,
	};
}

const text = (collation: string, charset = collation.split("_")[0] as string) =>
	column({
		dataType: "varchar",
		columnType: "varchar(20)",
		charset,
		collation,
	});

function index(overrides: Partial<IndexSchema>): IndexSchema {
	return {
		name: "ix",
		kind: "index",
		parts: [{ column: "c", length: null, descending: false }],
		hash: false,
		comment: "",
		invisible: false,
		...overrides,
	};
}

function table(overrides: Partial<TableSchema> = {}): TableSchema {
	return {
		name: { database: "shop", table: "t" },
		engine: "InnoDB",
		charset: "utf8mb4",
		collation: "utf8mb4_general_ci",
		comment: "",
		autoIncrement: null,
		options: [],
		partitioned: false,
		columns: [column({ name: "id", nullable: false, default: { kind: "none" } })],
		indexes: [
			{
				name: "PRIMARY",
				kind: "primary",
				parts: [{ column: "id", length: null, descending: false }],
				hash: false,
				comment: "",
				invisible: false,
			},
		],
		foreignKeys: [],
		checks: [],
		...overrides,
	};
}

const fk = {
	name: "fk",
	columns: ["c"],
	referenced: { database: "shop", table: "p" },
	referencedColumns: ["id"],
	onUpdate: "RESTRICT",
	onDelete: "CASCADE",
};

describe("to MySQL", () => {
	const mysql = ctx("mysql", "8.0.36");

	it("turns MariaDB-only types into text types, saying why", () => {
		const conversions: [string, string][] = [
			["uuid", "char(36)"],
			["inet6", "varchar(39)"],
			["inet4", "varchar(15)"],
		];
		for (const [dataType, to] of conversions) {
			const v = convertColumn(column({ dataType, columnType: dataType }), mysql);
			expect(v.value.columnType).toBe(to);
			expect(v.changes).toEqual([
				{
					what: `type ${dataType} -> ${to}`,
					why: expect.stringContaining(
						`only MariaDB has a${dataType === "uuid" ? "" : "n"} ${dataType.toUpperCase()} type`,
					),
				},
			]);
			expect(v.refusal).toBeNull();
		}
	});

	it("turns MariaDB's JSON (LONGTEXT + json_valid CHECK) into native JSON", () => {
		const v = convertColumn(
			column({
				name: "doc",
				dataType: "longtext",
				columnType: "longtext",
				charset: "utf8mb4",
				collation: "utf8mb4_bin",
				check: "json_valid(`doc`)",
			}),
			mysql,
		);
		expect(v.value).toMatchObject({
			columnType: "json",
			charset: null,
			collation: null,
			check: null,
		});
		expect(v.changes[0]?.why).toContain("MariaDB's JSON is LONGTEXT with a json_valid CHECK");
		// A LONGTEXT with some other CHECK stays LONGTEXT.
		const plain = convertColumn(
			column({
				name: "doc",
				dataType: "longtext",
				columnType: "longtext",
				check: "`doc` <> ''",
			}),
			mysql,
		);
		expect(plain.changes).toEqual([]);
	});

	it("maps collations MySQL lacks to its closest ones", () => {
		expect(convertColumn(text("utf8mb4_uca1400_ai_ci"), mysql).value.collation).toBe("utf8mb4_0900_ai_ci");
		expect(convertColumn(text("utf8mb4_uca1400_swedish_as_cs"), mysql).value.collation).toBe("utf8mb4_0900_as_cs");
		expect(convertColumn(text("utf8mb3_uca1400_ai_ci"), mysql).value.collation).toBe("utf8mb3_unicode_520_ci");
		expect(convertColumn(text("utf8mb4_nopad_bin"), mysql).value.collation).toBe("utf8mb4_0900_bin");
		const nopad = convertColumn(text("utf8mb4_general_nopad_ci"), mysql);
		expect(nopad.value.collation).toBe("utf8mb4_general_ci");
		expect(nopad.changes[0]?.why).toContain("trailing spaces");
		// Older MySQL has no 0900 collations at all.
		expect(convertColumn(text("utf8mb4_uca1400_ai_ci"), ctx("mysql", "5.7.44")).value.collation).toBe(
			"utf8mb4_unicode_520_ci",
		);
		// What MySQL has is left alone.
		expect(convertColumn(text("latin1_german1_ci"), mysql).changes).toEqual([]);
	});

	it("writes literal defaults of TEXT/BLOB columns as expressions, and refuses them before 8.0.13", () => {
		const col = column({
			dataType: "text",
			columnType: "text",
			charset: "utf8mb4",
			collation: "utf8mb4_general_ci",
			default: { kind: "string", value: "it's" },
		});
		const v = convertColumn(col, mysql);
		expect(v.value.default).toEqual({ kind: "expression", sql: "'it\\'s'" });
		const old = convertColumn(col, ctx("mysql", "5.7.44"));
		expect(old.refusal).toContain("before 8.0.13");
		const unknown = convertColumn(col, ctx("mysql"));
		expect(unknown.refusal).toBeNull();
		expect(unknown.warnings).toEqual([expect.stringContaining("if MySQL is older than 8.0.13")]);
	});

	it("drops MariaDB column compression and refuses long unique keys", () => {
		const v = convertColumn(
			column({
				dataType: "varchar",
				columnType: "varchar(100) /*M!100301 COMPRESSED*/",
			}),
			mysql,
		);
		expect(v.value.columnType).toBe("varchar(100)");
		expect(convertIndex(index({ kind: "unique", hash: true }), mysql).refusal).toContain(
			"only MariaDB enforces uniqueness of whole BLOB/TEXT values",
		);
	});

	it("replaces engines MySQL lacks, and keeps portable table options only", () => {
		const v = convertTable(
			table({
				engine: "Aria",
				options: [
					{ name: "row_format", value: "PAGE" },
					{ name: "transactional", value: "1" },
				],
			}),
			mysql,
		);
		expect(v.value.engine).toBe("InnoDB");
		expect(v.value.options).toEqual([{ name: "row_format", value: "PAGE" }]);
		expect(v.changes.map((c) => c.what)).toEqual(["ENGINE=Aria -> InnoDB", "table options TRANSACTIONAL=1 dropped"]);
		expect(convertTable(table({ engine: "MyISAM" }), mysql).changes).toEqual([]);
	});

	it("warns that CHECK constraints are ignored before 8.0.16", () => {
		expect(convertCheck({ name: "c", clause: "1" }, ctx("mysql", "8.0.15")).warnings).toEqual([
			"MySQL before 8.0.16 parses CHECK constraints and ignores them",
		]);
		expect(convertCheck({ name: "c", clause: "1" }, mysql).warnings).toEqual([]);
	});
});

describe("to TiDB", () => {
	const tidb = ctx("tidb", "7.5.0");

	it("refuses FULLTEXT and SPATIAL indexes and spatial columns, with reasons", () => {
		expect(convertIndex(index({ kind: "fulltext" }), tidb).refusal).toBe(
			"TiDB has no FULLTEXT indexes (it parses the syntax and rejects the index)",
		);
		expect(convertIndex(index({ kind: "spatial" }), tidb).refusal).toBe("TiDB has no SPATIAL indexes");
		expect(convertColumn(column({ dataType: "point", columnType: "point" }), tidb).refusal).toBe(
			"TiDB has no spatial (GEOMETRY) types",
		);
	});

	it("warns that foreign keys are not enforced by older TiDB", () => {
		expect(convertForeignKey(fk, ctx("tidb", "6.5.0")).warnings[0]).toContain("TiDB enforces foreign keys from v6.6.0");
		expect(convertForeignKey(fk, ctx("tidb")).warnings[0]).toMatch(/^if TiDB is older than 8.5.0: /);
		expect(convertForeignKey(fk, ctx("tidb", "8.5.0")).warnings).toEqual([]);
	});

	it("builds descending key parts ascending, and says so", () => {
		const v = convertIndex(index({ parts: [{ column: "c", length: null, descending: true }] }), tidb);
		expect(v.value.parts[0]?.descending).toBe(false);
		expect(v.changes[0]?.why).toContain("builds ascending indexes");
	});

	it("keeps to TiDB's character sets and collations", () => {
		expect(convertColumn(text("latin1_swedish_ci"), tidb).value.collation).toBe("latin1_bin");
		expect(convertColumn(text("utf8mb3_general_ci"), tidb).value).toMatchObject({
			charset: "utf8",
			collation: "utf8_general_ci",
		});
		expect(convertColumn(text("ucs2_general_ci"), tidb).value).toMatchObject({
			charset: "utf8mb4",
			collation: "utf8mb4_general_ci",
		});
		expect(convertColumn(text("utf8mb4_0900_ai_ci"), ctx("tidb", "7.1.0")).value.collation).toBe("utf8mb4_general_ci");
		expect(convertColumn(text("utf8mb4_0900_ai_ci"), tidb).changes).toEqual([]);
	});

	it("drops defaults of TEXT columns, shows invisible columns, warns about CHECK and AUTO_INCREMENT", () => {
		const t = convertColumn(
			column({
				dataType: "text",
				columnType: "text",
				default: { kind: "string", value: "x" },
			}),
			tidb,
		);
		expect(t.value.default).toEqual({ kind: "null" });
		expect(t.changes[0]?.what).toBe("default 'x' dropped");
		expect(convertColumn(column({ invisible: true }), tidb).value.invisible).toBe(false);
		expect(convertCheck({ name: "c", clause: "1" }, tidb).warnings[0]).toContain("tidb_enable_check_constraint");
		expect(convertTable(table({ autoIncrement: "5" }), tidb).warnings[0]).toContain("not consecutive");
	});
});

describe("to OceanBase (MySQL mode)", () => {
	it("refuses spatial objects before V4.1 and warns when the version is unknown", () => {
		const point = column({ dataType: "point", columnType: "point" });
		expect(convertColumn(point, ctx("oceanbase-mysql", "4.0.0")).refusal).toContain("from V4.1.0");
		expect(convertIndex(index({ kind: "spatial" }), ctx("oceanbase-mysql", "3.2.3")).refusal).toContain("from V4.1.0");
		const unknown = convertColumn(point, ctx("oceanbase-mysql"));
		expect(unknown.refusal).toBeNull();
		expect(unknown.warnings).toEqual([
			"if OceanBase (MySQL mode) is older than 4.1.0: OceanBase supports spatial (GEOMETRY) types from V4.1.0 (MySQL mode)",
		]);
		expect(convertColumn(point, ctx("oceanbase-mysql", "4.2.1")).warnings).toEqual([]);
	});

	it("refuses FULLTEXT before V4.3.1 and warns about its limits after", () => {
		expect(convertIndex(index({ kind: "fulltext" }), ctx("oceanbase-mysql", "4.2.1")).refusal).toContain("from V4.3.1");
		const v = convertIndex(index({ kind: "fulltext" }), ctx("oceanbase-mysql", "4.3.5"));
		expect(v.refusal).toBeNull();
		expect(v.warnings[0]).toContain("its own tokenizers");
	});

	it("declares every table InnoDB and drops storage options", () => {
		const v = convertTable(
			table({
				engine: "MyISAM",
				options: [{ name: "row_format", value: "DYNAMIC" }],
			}),
			ctx("oceanbase-mysql", "4.2.1"),
		);
		expect(v.value).toMatchObject({ engine: "InnoDB", options: [] });
		expect(v.changes.map((c) => c.what)).toEqual([
			"ENGINE=MyISAM -> InnoDB",
			"table options ROW_FORMAT=DYNAMIC dropped",
		]);
		expect(convertTable(table(), ctx("oceanbase-mysql")).changes).toEqual([]);
	});

	it("keeps to OceanBase's character sets and collations", () => {
		const ob = ctx("oceanbase-mysql", "4.2.1");
		expect(convertColumn(text("utf8mb4_uca1400_ai_ci"), ob).value.collation).toBe("utf8mb4_general_ci");
		expect(convertColumn(text("latin1_german1_ci"), ob).value.collation).toBe("latin1_swedish_ci");
		expect(convertColumn(text("utf8mb3_bin"), ob).value).toMatchObject({
			charset: "utf8mb4",
			collation: "utf8mb4_bin",
		});
		expect(convertColumn(text("latin1_swedish_ci"), ctx("oceanbase-mysql", "3.2.4")).value.charset).toBe("utf8mb4");
	});
});

describe("to MariaDB from MySQL", () => {
	const mariadb = ctx("mariadb", "10.11.9", "mysql");

	it("stores MySQL JSON as MariaDB's LONGTEXT with json_valid", () => {
		const v = convertColumn(column({ name: "doc", dataType: "json", columnType: "json" }), mariadb);
		expect(v.value).toMatchObject({
			columnType: "longtext",
			charset: "utf8mb4",
			collation: "utf8mb4_bin",
			check: "json_valid(`doc`)",
		});
	});

	it("maps utf8mb4_0900 collations to uca1400 NO PAD ones (unicode_520 before 10.10)", () => {
		expect(convertCharset({ charset: "utf8mb4", collation: "utf8mb4_0900_ai_ci" }, mariadb).value.collation).toBe(
			"utf8mb4_uca1400_nopad_ai_ci",
		);
		expect(convertCharset({ charset: "utf8mb4", collation: "utf8mb4_0900_bin" }, mariadb).value.collation).toBe(
			"utf8mb4_nopad_bin",
		);
		expect(
			convertCharset({ charset: "utf8mb4", collation: "utf8mb4_0900_ai_ci" }, ctx("mariadb", "10.6.18", "mysql")).value
				.collation,
		).toBe("utf8mb4_unicode_520_nopad_ci");
	});

	it("refuses functional key parts and keeps MySQL-only table options out", () => {
		const functional = index({
			parts: [
				{
					column: "",
					length: null,
					descending: false,
					expression: "lower(`c`)",
				},
			],
		});
		expect(convertIndex(functional, mariadb).refusal).toContain("no functional key parts");
		expect(convertTable(table({ options: [{ name: "compression", value: '"zlib"' }] }), mariadb).value.options).toEqual(
			[],
		);
	});
});

describe("planning for another engine", () => {
	const snapshot: SchemaSnapshot = {
		server: {
			flavor: "mariadb",
			version: "10.11.9",
			versionText: "10.11.9-MariaDB",
		},
		databases: [{ name: "shop", charset: "utf8mb4", collation: "utf8mb4_uca1400_ai_ci" }],
		tables: [
			table({
				name: { database: "shop", table: "doc" },
				columns: [
					column({
						name: "id",
						dataType: "uuid",
						columnType: "uuid",
						nullable: false,
						default: { kind: "expression", sql: "uuid()" },
					}),
					column({
						name: "body",
						dataType: "longtext",
						columnType: "longtext",
						charset: "utf8mb4",
						collation: "utf8mb4_bin",
						check: "json_valid(`body`)",
					}),
					column({
						name: "shape",
						dataType: "geometry",
						columnType: "geometry",
						nullable: false,
						default: { kind: "none" },
					}),
				],
				indexes: [
					{
						name: "PRIMARY",
						kind: "primary",
						parts: [{ column: "id", length: null, descending: false }],
						hash: false,
						comment: "",
						invisible: false,
					},
					index({
						name: "sp",
						kind: "spatial",
						parts: [{ column: "shape", length: null, descending: false }],
					}),
				],
			}),
		],
		views: [],
	};
	const mappings = [
		{
			source: { database: "shop", table: "doc" },
			destination: { database: "shop", table: "doc" },
			columns: ["id", "body", "shape"].map((c) => ({
				source: c,
				destination: c,
			})),
		},
	];

	it("writes MySQL DDL with converted types and an expression default in parentheses", () => {
		const plan = planSchema(snapshot, mappings, "mysql", {
			destinationVersion: "8.0.36",
		});
		expect(plan.databases[0]?.sql).toBe(
			"CREATE DATABASE IF NOT EXISTS `shop` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci",
		);
		expect(plan.tables[0]?.sql).toBe(
			"CREATE TABLE `shop`.`doc` (\n  `id` char(36) NOT NULL DEFAULT (uuid()),\n  `body` json NULL DEFAULT NULL,\n  `shape` geometry NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
		);
		expect(plan.indexes.map((i) => i.sql)).toEqual(["ALTER TABLE `shop`.`doc` ADD SPATIAL KEY `sp` (`shape`)"]);
		expect(plan.report.find((e) => e.kind === "table")?.status).toBe("changed");
	});

	it("refuses the whole table for TiDB, which cannot hold its geometry column", () => {
		const plan = planSchema(snapshot, mappings, "tidb", {
			destinationVersion: "7.5.0",
		});
		expect(plan.tables).toEqual([]);
		expect(plan.report.find((e) => e.kind === "table")).toMatchObject({
			status: "refused",
			reason: "column `shape` (geometry): TiDB has no spatial (GEOMETRY) types",
		});
		// Nothing of a refused table is planned, so its keys get no entries of their own.
		expect(plan.indexes).toEqual([]);
		expect(plan.report.filter((e) => e.kind === "index")).toEqual([]);
	});
});
