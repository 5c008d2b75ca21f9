export * from './job.ts';
export { deadlineProblems, finishableProblems, MAX_DEADLINE_AHEAD_DAYS, validateJob, type JobProblem } from './validate-job.ts';
