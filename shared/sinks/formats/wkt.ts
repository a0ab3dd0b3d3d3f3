import { shortestDigits } from "./values.ts";

/*
 * A spatial value as Maxwell writes it: MySQL's internal form (4-byte SRID, then WKB) read by
 * JTS 1.13's WKBReader and written by its WKTWriter: "POINT (1 2)", "MULTIPOINT ((1 2), (3 4))",
 * "GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 1 1))", "POLYGON EMPTY"; the SRID is
 * dropped, only X and Y are written, each in plain notation with at most 16 fraction digits
 * (DecimalFormat "0.################", rounded by the exact binary value).
 */

const NAMES = [
	"",
	"POINT",
	"LINESTRING",
	"POLYGON",
	"MULTIPOINT",
	"MULTILINESTRING",
	"MULTIPOLYGON",
	"GEOMETRYCOLLECTION",
];
const FRACTION_DIGITS = 16;

/** A finite double as m x 2^e, exactly. */
function binary(value: number): [bigint, number] {
	const view = new DataView(new ArrayBuffer(8));
	view.setFloat64(0, Math.abs(value));
	const bits = view.getBigUint64(0);
	const exponent = Number((bits >> 52n) & 0x7ffn);
	const fraction = bits & ((1n << 52n) - 1n);
	return exponent === 0 ? [fraction, -1074] : [fraction | (1n << 52n), exponent - 1075];
}

/**
 * Whether |value|, its digits cut to `truncated` x 10^-16, rounds up: DecimalFormat decides by
 * the double's exact binary value (so 2.5e-16, stored a little above, rounds up to 3e-16 and
 * 1.5e-16, stored a little below, down to 1e-16), half-even on an exact tie.
 */
function roundsUp(value: number, truncated: bigint): boolean {
	const [m, e] = binary(value);
	let twiceValue = m * 2n * 10n ** BigInt(FRACTION_DIGITS);
	let midpoint = 2n * truncated + 1n;
	if (e >= 0) twiceValue <<= BigInt(e);
	else midpoint <<= BigInt(-e);
	return twiceValue > midpoint || (twiceValue === midpoint && truncated % 2n === 1n);
}

/** JTS's DecimalFormat("0.################") of a double. */
export function jtsNumber(value: number): string {
	if (value === 0) return "0";
	const sign = value < 0 ? "-" : "";
	const { digits, exponent } = shortestDigits(value, false);
	let unscaled = BigInt(digits);
	let scale = digits.length - 1 - exponent;
	if (scale > FRACTION_DIGITS) {
		unscaled /= 10n ** BigInt(scale - FRACTION_DIGITS);
		if (roundsUp(value, unscaled)) unscaled += 1n;
		scale = FRACTION_DIGITS;
	}
	if (scale <= 0) return sign + (unscaled * 10n ** BigInt(-scale)).toString();
	const text = unscaled.toString().padStart(scale + 1, "0");
	const fraction = text.slice(-scale).replace(/0+$/, "");
	return `${sign}${text.slice(0, -scale)}${fraction ? `.${fraction}` : ""}`;
}

class WkbReader {
	private at = 0;
	private little = true;
	constructor(private readonly bytes: Buffer) {}

	byteOrder(): void {
		this.little = this.bytes.readUInt8(this.at++) === 1;
	}

	uint32(): number {
		const v = this.little ? this.bytes.readUInt32LE(this.at) : this.bytes.readUInt32BE(this.at);
		this.at += 4;
		return v;
	}

	double(): number {
		const v = this.little ? this.bytes.readDoubleLE(this.at) : this.bytes.readDoubleBE(this.at);
		this.at += 8;
		return v;
	}

	point(): string {
		const x = this.double();
		const y = this.double();
		return `${jtsNumber(x)} ${jtsNumber(y)}`;
	}

	/** A list of `n` items read by `item`, as "(a, b)" or "EMPTY". */
	list(item: () => string): string {
		const n = this.uint32();
		if (n === 0) return "EMPTY";
		return `(${Array.from({ length: n }, item).join(", ")})`;
	}

	/** One WKB geometry: its tagged text ("POINT (1 2)"). */
	geometry(): string {
		this.byteOrder();
		const type = this.uint32() % 1000;
		return `${NAMES[type] ?? "GEOMETRY"} ${this.body(type)}`;
	}

	/** A geometry's text without its tag; `type` read already. */
	private body(type: number): string {
		switch (type) {
			case 1:
				return `(${this.point()})`;
			case 2:
				return this.list(() => this.point());
			case 3:
				return this.list(() => this.list(() => this.point()));
			case 7:
				return this.list(() => this.geometry());
			default:
				// MULTIPOINT, MULTILINESTRING, MULTIPOLYGON: each member is a whole WKB geometry,
				// written without its tag
				return this.list(() => {
					this.byteOrder();
					return this.body(this.uint32() % 1000);
				});
		}
	}
}

/** MySQL's internal spatial value (SRID + WKB) as JTS writes it. */
export function geometryText(internal: Buffer): string {
	return new WkbReader(internal.subarray(4)).geometry();
}
