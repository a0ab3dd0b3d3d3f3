import { createHmac, timingSafeEqual } from "node:crypto";

/*
 * How a webhook receiver knows a notification came from this Ferry and is fresh: Ferry sends
 *   X-Ferry-Timestamp: <unix seconds>
 *   X-Ferry-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" under the shared secret>
 * and the receiver recomputes the HMAC over the raw bytes it received (before any JSON parsing),
 * compares in constant time, and refuses a timestamp more than five minutes from its clock, so a
 * captured request cannot be replayed later. docs/alerts.md shows it.
 */

export const SIGNATURE_HEADER = "x-ferry-signature";
export const TIMESTAMP_HEADER = "x-ferry-timestamp";
export const REPLAY_TOLERANCE_SECONDS = 300;

export function sign(secret: string, timestamp: number, body: string): string {
	return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** The headers that go with `body`, signed at `now` (epoch ms). */
export function signatureHeaders(secret: string, body: string, now = Date.now()): Record<string, string> {
	const timestamp = Math.floor(now / 1000);
	return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: sign(secret, timestamp, body) };
}

/** A receiver's check: the signature matches the raw body and the timestamp is recent. */
export function verifySignature(
	secret: string,
	body: string,
	headers: { signature?: string; timestamp?: string },
	now = Date.now(),
): { ok: true } | { ok: false; reason: string } {
	const timestamp = Number(headers.timestamp);
	if (!headers.signature || !Number.isInteger(timestamp)) return { ok: false, reason: "missing headers" };
	if (Math.abs(now / 1000 - timestamp) > REPLAY_TOLERANCE_SECONDS) return { ok: false, reason: "stale timestamp" };
	const expected = Buffer.from(sign(secret, timestamp, body));
	const given = Buffer.from(headers.signature);
	if (expected.length !== given.length || !timingSafeEqual(expected, given))
		return { ok: false, reason: "bad signature" };
	return { ok: true };
}
