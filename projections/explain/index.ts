export {
  citedBy,
  CITED_CATEGORIES,
  explainFromEvents,
  INTAKE_STREAM,
  jobStream,
  notFound,
  rejectionOf,
  type Explanation,
  type ExplainStep,
} from './explain.ts';
export { explainJob } from './read.ts';
