/** Numbers, sizes, durations and times as the console shows them. */

const intl = new Intl.NumberFormat("en-US");
const one = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

export const num = (n: number | undefined) => (n === undefined ? "–" : intl.format(Math.round(n)));

export const rate = (n: number | undefined, unit = "rows/s") =>
	n === undefined ? "–" : `${n >= 100 ? intl.format(Math.round(n)) : one.format(n)} ${unit}`;

export function bytes(n: number | undefined): string {
	if (n === undefined) return "–";
	const units = ["B", "KiB", "MiB", "GiB", "TiB"];
	let v = n;
	let i = 0;
	while (v >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return `${i === 0 ? v : one.format(v)} ${units[i]}`;
}

/** 3725 → "1 h 2 min"; 42.5 → "42.5 s". */
export function duration(seconds: number | undefined): string {
	if (seconds === undefined || !Number.isFinite(seconds)) return "–";
	if (seconds < 60) return `${one.format(seconds)} s`;
	const m = Math.floor(seconds / 60);
	if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
	const h = Math.floor(m / 60);
	if (h < 48) return `${h} h ${m % 60} min`;
	return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A time in the browser's zone; its title (shown on hover) gives UTC. */
export function time(iso: string | undefined): { text: string; title: string } {
	if (!iso) return { text: "–", title: "" };
	const d = new Date(iso);
	return {
		text: d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium" }),
		title: `${d
			.toISOString()
			.replace("T", " ")
			.replace(/\.\d+Z$/, " UTC")}`,
	};
}

/** "3 min ago" from an ISO time. */
export function ago(iso: string | undefined, now = Date.now()): string {
	if (!iso) return "–";
	const s = Math.max(0, (now - Date.parse(iso)) / 1000);
	return `${duration(s)} ago`;
}

export const percent = (n: number | undefined) => (n === undefined ? "–" : `${one.format(n)}%`);
