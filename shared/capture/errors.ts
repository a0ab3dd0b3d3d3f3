import { CodedError } from "../errors.ts";
/** A capture failure, with a code the caller can act on. */
export class CaptureError extends CodedError {
	override readonly name = "CaptureError";
}

/**
 * A failure of the binlog connection (from zongji or the server) as a CaptureError whose code says
 * what the caller can do; `where` names the source (host:port).
 */
export function explainCaptureFailure(err: unknown, where: string): Error {
	if (err instanceof CaptureError) return err;
	const e = err as { code?: string; message?: string; errno?: number };
	switch (e.code) {
		case "PROTOCOL_CONNECTION_LOST":
		case "ECONNRESET":
		case "EPIPE":
		case "ETIMEDOUT":
			return new CaptureError(
				`lost the binlog connection to ${where} (${e.message ?? e.code}): restart capture from the last checkpoint`,
				"CAPTURE_DISCONNECTED",
				{ cause: err },
			);
		case "ECONNREFUSED":
			return new CaptureError(`nothing listens on ${where}: is the source running?`, "CAPTURE_DISCONNECTED", {
				cause: err,
			});
	}
	if (/TRANSACTION_PAYLOAD_EVENT|PARTIAL_UPDATE_ROWS_EVENT/.test(e.message ?? "")) {
		return new CaptureError(`cannot capture from ${where}: ${e.message}`, "CAPTURE_UNSUPPORTED_EVENT", {
			cause: err,
		});
	}
	if (e.errno === 1236) {
		return new CaptureError(
			`the source cannot serve its binlog from the requested position (${e.message}): the binlogs may have been purged; start a new full migration`,
			"CAPTURE_POSITION_LOST",
			{ cause: err },
		);
	}
	return new CaptureError(
		`binlog capture from ${where} failed: ${e.message ?? String(err)}`,
		e.code ?? "CAPTURE_FAILED",
		{
			cause: err,
		},
	);
}
