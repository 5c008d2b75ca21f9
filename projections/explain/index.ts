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
export { DEFAULT_MAX_REJECTION_INDEX_CHARS, explainJob, RejectionIndex, type ExplainOptions } from './read.ts';
