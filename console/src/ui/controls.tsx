import { signal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { type Access, can, notAllowed } from "../session.ts";

/** The newest outcome of an action, announced in the page's status line. */
export const notice = signal<{ kind: "ok" | "error"; text: string } | undefined>(undefined);

export function Notice() {
	const n = notice.value;
	return (
		<div class={`notice ${n ? `notice-${n.kind}` : ""}`} role="status" aria-live="polite">
			{n && (
				<>
					<span>{n.text}</span>
					<button type="button" class="link" onClick={() => (notice.value = undefined)}>
						Dismiss
					</button>
				</>
			)}
		</div>
	);
}

interface ActionProps {
	access: Access;
	/** Runs the action; its resolved string (if any) is announced as done. */
	run: () => Promise<string | undefined>;
	children: ComponentChildren;
	kind?: "primary" | "danger" | "plain";
	disabled?: boolean;
	title?: string;
	/** Asks once more in place ("Really delete?") before running. */
	confirm?: string;
}

/**
 * A button that calls the API: disabled for a role that may not (with a tooltip saying why),
 * busy while it runs, and its outcome (or the API's refusal) announced.
 */
export function Action({ access, run, children, kind = "plain", disabled, title, confirm }: ActionProps) {
	const [busy, setBusy] = useState(false);
	const [asking, setAsking] = useState(false);
	const allowed = can(access);
	const go = async () => {
		setAsking(false);
		setBusy(true);
		try {
			const done = await run();
			if (done) notice.value = { kind: "ok", text: done };
		} catch (err) {
			notice.value = { kind: "error", text: (err as Error).message };
		} finally {
			setBusy(false);
		}
	};
	if (asking)
		return (
			<span class="confirm">
				<span>{confirm}</span>
				<button type="button" class="danger" onClick={go}>
					Yes
				</button>
				<button type="button" onClick={() => setAsking(false)}>
					No
				</button>
			</span>
		);
	return (
		<button
			type="button"
			class={kind}
			disabled={!allowed || disabled || busy}
			title={notAllowed(access) ?? title}
			aria-busy={busy}
			onClick={() => (confirm ? setAsking(true) : go())}
		>
			{busy ? "Working…" : children}
		</button>
	);
}
