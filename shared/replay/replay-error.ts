import { CodedError } from "../errors.ts";
export type ReplayErrorCode =
	| "DESTINATION_TABLE_MISSING"
	| "DESTINATION_COLUMN_MISSING"
	| "INCOMPLETE_ROW_IMAGE"
	| "UNREPLICATED_COLUMN"
	| "BAD_VALUE"
	| "FILTER_FAILED"
	| "NO_SOURCE_FOR_FILTER"
	| "NO_DDL_HANDLER"
	| "APPLY_FAILED";

/** A replay failure that names the object it concerns. */
export class ReplayError extends CodedError<ReplayErrorCode> {
	override readonly name = "ReplayError";
}
