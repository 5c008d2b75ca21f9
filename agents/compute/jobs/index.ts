export * from './job.ts';
export { validateJob, type JobProblem } from './validate-job.ts';
