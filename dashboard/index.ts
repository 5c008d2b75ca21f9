export { startDashboard, type Dashboard, type DashboardOptions } from './server.ts';
export { LiveModel, type LiveModelOptions } from './live-model.ts';
export { dashboardView, type DashboardView, type GanttJob, type Verification, type ViewOptions } from './view.ts';
