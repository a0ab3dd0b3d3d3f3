import { createHash } from "node:crypto";
import type { Finding, Project } from "./project.ts";

/**
 * Precheck findings the user waives one by one. Precheck itself cannot be skipped (it records
 * the tables to migrate: skipping it would complete the project with nothing migrated), so a
 * blocking finding the user accepts is waived by its id, and the retried precheck keeps it as a
 * warning marked `waived`.
 */

/** The same problem found again (a retried precheck) keeps its id. */
export function findingId(f: Pick<Finding, "level" | "object" | "message">): string {
	const digest = createHash("sha256").update(`${f.level}\u0000${f.object}\u0000${f.message}`).digest("hex");
	return `f-${digest.slice(0, 10)}`;
}

/** Gives each finding its id; the errors the user waived become warnings marked `waived`. */
export function applyWaivers(findings: readonly Finding[], waived: readonly string[]): Finding[] {
	return findings.map((f) => {
		const id = findingId(f);
		return f.level === "error" && waived.includes(id) ? { ...f, id, level: "warning", waived: true } : { ...f, id };
	});
}

/** Precheck's error for the findings that block: each with its id, and the ways on. */
export function blockingMessage(project: Project, errors: readonly Finding[]): string {
	const list = errors.map((f) => `${f.id} ${f.object}: ${f.message} (${f.fix})`).join("; ");
	return `precheck found ${errors.length} blocking problem(s): ${list}. Fix them and retry, or accept one with 'ferry project waive ${project.id} <finding id>' and retry; precheck itself cannot be skipped`;
}
