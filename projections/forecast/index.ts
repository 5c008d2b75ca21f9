export {
  DAY_AHEAD_LEAD_MS,
  evolveForecast,
  initialForecast,
  forecastProjection,
  SLOT_MS,
  type Band,
  type DayAheadPoint,
  type ForecastState,
  type LatestForecast,
  type Observed,
} from './forecast.ts';
export { DAY_AHEAD_TOLERANCE_MS, dayAheadSkill, forecastSpan, forecastVsActual, latestForecastRows, type ForecastRow, type LatestRow, type SkillScore } from './queries.ts';
