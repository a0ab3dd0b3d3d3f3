import { z } from "zod";

/*
 * What every response schema is built with (responses.ts tells what they are for): `exactly`,
 * which ties a schema to the type its handler returns, and the scalars the answers share.
 */

/** The type with interfaces and intersections spelt out member by member, all the way down. */
type Plain<T> = T extends object ? { [K in keyof T]: Plain<T[K]> } : T;

/** True when A and B have the same members, each of the same type and optionality. */
type Same<A, B> = (<G>() => G extends Plain<A> ? 1 : 2) extends <G>() => G extends Plain<B> ? 1 : 2 ? true : false;

/**
 * A schema whose output is exactly `T`, the type a handler returns: a field added, dropped or
 * changed on one side alone fails to compile here. (`z.ZodType<T>` alone would let the type
 * gain an optional field the document never shows.)
 */
export function exactly<T>() {
	return <S extends z.ZodType>(
		schema: S & (Same<z.output<S>, T> extends true ? unknown : { "the schema's output is not exactly": T }),
	): S => schema;
}

export type Returns<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;

/** An ISO time as `Date.toISOString` writes it. */
export const Time = z.iso.datetime();
export const Count = z.number().int().nonnegative();
export const Rate = z.number().nonnegative();
/** A verification run: 1, 2, ... */
export const RunNumber = z.number().int().positive();
