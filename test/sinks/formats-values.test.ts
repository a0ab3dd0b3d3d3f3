import { describe, expect, it } from "vitest";
import { bigDecimalText } from "../../shared/sinks/formats/maxwell-values.ts";
import { javaNumber } from "../../shared/sinks/formats/values.ts";
import { jtsNumber } from "../../shared/sinks/formats/wkt.ts";

/* Number texts the peers' Java writes: expected values are what Java 17 prints for each input. */

describe("numbers as the Java peers write them", () => {
	it("writes FLOAT and DOUBLE as Float.toString / Double.toString", () => {
		expect(javaNumber(Math.fround(0.1), true)).toBe("0.1");
		expect(javaNumber(Math.fround(1e-5), true)).toBe("1.0E-5");
		expect(javaNumber(Math.fround(3.4028235e38), true)).toBe("3.4028235E38");
		expect(javaNumber(0.001, false)).toBe("0.001");
		expect(javaNumber(0.000999, false)).toBe("9.99E-4");
		expect(javaNumber(9999999, false)).toBe("9999999.0");
		expect(javaNumber(1e7, false)).toBe("1.0E7");
		expect(javaNumber(-1.5, false)).toBe("-1.5");
		expect(javaNumber(0, false)).toBe("0.0");
		expect(javaNumber(-0, false)).toBe("-0.0");
		expect(javaNumber(0.1 + 0.2, false)).toBe("0.30000000000000004");
	});

	it("writes DECIMAL as BigDecimal.toString", () => {
		expect(bigDecimalText("1234.50")).toBe("1234.50");
		expect(bigDecimalText("-0.000001")).toBe("-0.000001");
		expect(bigDecimalText("0.0000001")).toBe("1E-7");
		expect(bigDecimalText("-0.0000001234")).toBe("-1.234E-7");
		expect(bigDecimalText("0.0000000000")).toBe("0E-10");
		expect(bigDecimalText("123456789012345678901234567890")).toBe("123456789012345678901234567890");
	});

	it("writes coordinates as JTS's DecimalFormat: plain, 16 fraction digits, rounded by the exact binary value", () => {
		expect(jtsNumber(1)).toBe("1");
		expect(jtsNumber(-2.5)).toBe("-2.5");
		expect(jtsNumber(1 / 3)).toBe("0.3333333333333333");
		expect(jtsNumber(1e20)).toBe("100000000000000000000");
		expect(jtsNumber(1e-20)).toBe("0");
		expect(jtsNumber(1.5e-16)).toBe("0.0000000000000001");
		expect(jtsNumber(2.5e-16)).toBe("0.0000000000000003");
		expect(jtsNumber(0.12345678901234566)).toBe("0.1234567890123457");
	});
});
