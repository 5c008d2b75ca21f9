import type { Decision } from '../../../core/runtime/index.ts';
import type { JobProblem } from '../jobs/index.ts';
import { rejection } from '../rejection.ts';
import type { ComputeOut } from '../messages.ts';

/** A refusal, on the intake stream: the job's own stream is only for jobs accepted. */
export function refuse(jobId: string, problems: ReadonlyArray<JobProblem>): Decision<ComputeOut>[] {
  return [{ stream: 'intake-main', events: [rejection(jobId, problems)] }];
}
