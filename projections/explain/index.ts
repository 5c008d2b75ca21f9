export {
  citedBy,
  citedIds,
  CITED_CATEGORIES,
  explainFromEvents,
  explanationStatus,
  INTAKE_STREAM,
  jobStream,
  notFound,
  rejectionOf,
  type CitedIds,
  type Explanation,
  type ExplainStep,
} from './explain.ts';
export { CitedIndex, DEFAULT_MAX_REJECTION_INDEX_CHARS, explainJob, RejectionIndex, type ExplainOptions } from './read.ts';
