export { type ChunkChecksum, chunkChecksum, type Side } from "./checksum.ts";
export { applyCorrections, CORRECTION_SESSION, correctionScript, correctionStatements } from "./correct.ts";
export { compareColumns, diffChunk, type RowDiff, recheckDifferences } from "./diff.ts";
export { type PreparedTable, prepareTable, VerifyError } from "./normalise.ts";
export { type TableVerification, type VerifyOptions, verifyTable } from "./verify-table.ts";
