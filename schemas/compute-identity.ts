import { Schema } from 'effect';
import { defineEvent } from './registry.ts';
import { defineUpcaster } from './upcasters.ts';
import { NonEmpty } from './common.ts';
import { JobPinned, JobReleased, JobSubmitted } from './compute.ts';

/**
 * The compute events that say who caused them. A type never changes meaning, so these are
 * version 2 of their types: the v1 fields unchanged plus the authenticated sender, and each
 * has an upcaster that reads a v1 event as v2 with the sender unknown (`null`).
 */

/** Roles in the site's key registry (core/identity): kept equal by test/identity. */
export const PRINCIPAL_ROLES = ['agent', 'third-party', 'operator', 'admin'] as const;

/** The registered key a command was signed with, and the party and role it is registered to. */
export const Principal = Schema.Struct({
  keyId: NonEmpty,
  party: NonEmpty,
  role: Schema.Literals(PRINCIPAL_ROLES),
});
export type PrincipalData = Schema.Schema.Type<typeof Principal>;

export const JobSubmittedV2 = defineEvent(
  'compute.job.submitted',
  2,
  'A job was accepted; its power and runtime are resolved (runtime given or predicted), and who submitted it (null: not recorded, a v1 event)',
  Schema.Struct({ ...JobSubmitted.data.fields, submittedBy: Schema.NullOr(Principal) }),
);

export const JobPinnedV2 = defineEvent(
  'compute.job.pinned',
  2,
  'A job was pinned to a start time, by its submitter or an operator (`by`: the authenticated sender; null: not recorded, a v1 event)',
  Schema.Struct({ ...JobPinned.data.fields, by: Schema.NullOr(Principal) }),
);

export const JobReleasedV2 = defineEvent(
  'compute.job.released',
  2,
  'A pinned job was released, by its submitter or an operator (`by`: the authenticated sender; null: not recorded, a v1 event)',
  Schema.Struct({ ...JobReleased.data.fields, by: Schema.NullOr(Principal) }),
);

export type JobSubmittedV1Data = Schema.Schema.Type<typeof JobSubmitted.data>;
export type JobSubmittedV2Data = Schema.Schema.Type<typeof JobSubmittedV2.data>;

export const computeIdentityMessages = [JobSubmittedV2, JobPinnedV2, JobReleasedV2];

/** v1 → v2 of each: a v1 event did not record who sent it. */
export const computeIdentityUpcasters = [
  defineUpcaster(JobSubmitted, JobSubmittedV2, (d) => ({ ...d, submittedBy: null })),
  defineUpcaster(JobPinned, JobPinnedV2, (d) => ({ ...d, by: null })),
  defineUpcaster(JobReleased, JobReleasedV2, (d) => ({ ...d, by: null })),
];
