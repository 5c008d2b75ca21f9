export { costByDay, costPeriods, costTotals, evolveCost, initialCost, projectCost, type CostPeriod, type CostState, type CostTotals, type DayCost } from './cost.ts';
