/**
 * The shred-day CrossGuard pack. This file only assembles: the rules are pure functions in
 * ./rules.ts, adapted to @pulumi/policy in ./policies.ts.
 *
 *   pulumi preview --stack production --policy-pack policy [--policy-pack-config .plan/policy-config.json]
 */
import { PolicyPack } from "@pulumi/policy";
import { ENFORCEMENT, PACK_NAME, policies } from "./policies";

new PolicyPack(PACK_NAME, { policies, enforcementLevel: ENFORCEMENT });
