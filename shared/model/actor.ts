import { z } from "zod";

/*
 * Who does something to Ferry. OMS's users are admins, operators (who run projects) and viewers
 * (read only); Ferry's API checks the caller's role on every route and records the caller with
 * every change. The scheduler and the replication tasks act as "ferry" with the system role.
 */

export const Role = z.enum(["admin", "operator", "viewer"]);
export type Role = z.infer<typeof Role>;

export interface Actor {
	/** The caller's name: an IAM principal or Cognito user in AWS, the token's name in local mode, "ferry" for Ferry itself. */
	name: string;
	role: Role | "system";
}

/** Ferry's own processes (scheduler, workers, replication tasks). */
export const SYSTEM: Actor = { name: "ferry", role: "system" };
