export { BucketMap } from './bucket-map.ts';
export {
  evolveSchedule,
  initialSchedule,
  JOB_CLASSES,
  MAX_REJECTIONS_KEPT,
  scheduleProjection,
  type JobClass,
  type JobStatus,
  type Money,
  type RunSegment,
  type ScheduleState,
  type ScheduledJob,
  type SitePlan,
} from './schedule.ts';
export { allJobs, ganttJobs, jobEndMs, jobStartMs, missedOrLate, scheduleSummary, type GanttQuery, type ScheduleSummary } from './queries.ts';
