/**
 * A table with every MySQL/MariaDB column type and three rows (extreme values, zero and empty
 * values, all NULLs), shared by the capture test and the end-to-end incremental type test.
 * GEOMETRY comes first on purpose: with FULL metadata it used to shift every later column's
 * charset (shared/capture/zongji-fixes.ts).
 */
const SET40 = Array.from({ length: 40 }, (_, i) => `'v${i + 1}'`).join(",");

export const ALL_TYPES_TABLE = `(
	id INT PRIMARY KEY,
	g GEOMETRY, pt POINT, ls LINESTRING, poly POLYGON,
	ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,
	i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
	dec65 DECIMAL(65,30), dec10 DECIMAL(10,0), dec52 DECIMAL(5,2),
	f FLOAT, d DOUBLE,
	bit1 BIT(1), bit10 BIT(10), bit64 BIT(64),
	dt DATE, t0 TIME, t6 TIME(6), t3 TIME(3), dt0 DATETIME, dt6 DATETIME(6), dt3 DATETIME(3),
	ts0 TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL, y YEAR,
	c CHAR(10), vc VARCHAR(100), tt TINYTEXT, tx TEXT, mtx MEDIUMTEXT, ltx LONGTEXT,
	c_l CHAR(10) CHARACTER SET latin1, vc_l VARCHAR(100) CHARACTER SET latin1, tx_l TEXT CHARACTER SET latin1,
	vcz VARCHAR(100) COMPRESSED, txz TEXT COMPRESSED,
	bin BINARY(8), vbin VARBINARY(100), tbl TINYBLOB, bl BLOB, mbl MEDIUMBLOB, lbl LONGBLOB,
	e ENUM('red','green','blé'), s SET('a','b','c','d'), s40 SET(${SET40}),
	j JSON,
	u UUID, ip6 INET6, ip4 INET4
) DEFAULT CHARSET=utf8mb4`;

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex");

export const ALL_TYPES_ROW_1 = `(1,
	ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(-1.5 2.25)', 4326), ST_GeomFromText('LINESTRING(0 0,1 1,2 3)'),
	ST_GeomFromText('POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,2 1,2 2,1 1))'),
	-128, 255, -32768, 65535, -8388608, 16777215,
	-2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
	'-12345678901234567890123456789012345.123456789012345678901234567890', 9999999999, -999.99,
	3.1415926, -1.7976931348623157e308,
	b'1', b'1010101010', x'ffffffffffffffff',
	'9999-12-31', '838:59:59', '-838:59:59.000000', '-00:00:01.500', '1000-01-01 00:00:00', '2024-02-29 23:59:59.999999', '2024-01-02 03:04:05.678',
	'2038-01-19 08:14:07', '1970-01-01 05:00:01.000001', 2155,
	'ab  ', 'héllo 😀 wörld', 'tiny ☃', 'multi\\nline\\ttext "quoted" \\\\ back', REPEAT('m', 70000), REPEAT('long ', 1000),
	'café', 'naïve € œ', 'Ångström ÿ ‰',
	REPEAT('compressible ', 5), REPEAT('compressed text ', 100),
	x'00ff00ff00000000', x'00010203fffe', x'', x'${ALL_BYTES}', REPEAT(x'00ff', 40000), x'deadbeef',
	'blé', 'a,d', 'v1,v33,v40',
	'{"b": [1, 2.5, "x", true, null], "a": {"c": null}, "10": "ten", "é": "😀"}',
	'123e4567-e89b-12d3-a456-426614174000', '2001:db8::ff00:42:8329', '192.168.0.1')`;

export const ALL_TYPES_ROW_2 = `(2,
	ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('POINT(0 0)'), ST_GeomFromText('LINESTRING(0 0,0 0)'), ST_GeomFromText('POLYGON((0 0,1 0,0 1,0 0))'),
	127, 0, 32767, 0, 8388607, 0,
	2147483647, 0, 9223372036854775807, 0,
	0, -9999999999, 0.05,
	0, 2.2250738585072014e-308,
	b'0', b'0', x'0000000000000001',
	'0000-00-00', '-838:59:59', '-00:00:00.000001', '00:00:00.000', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '2024-00-00 00:00:00.000',
	'0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', 0,
	'', '', '', '', '', '',
	'', '', '',
	'', '',
	x'', x'', x'', x'', x'', x'',
	'purple', '', '',
	'"text"',
	'00000000-0000-0000-0000-000000000000', '::', '0.0.0.0')`;

// every column NULL (the last three are the MariaDB data-type plugins)
export const ALL_TYPES_ROW_3 = `(3${", NULL".repeat(56)})`;
