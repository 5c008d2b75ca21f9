export { costByDay, costPeriods, costTotals, evolveCost, initialCost, costProjection, type CostPeriod, type CostState, type CostTotals, type DayCost } from './cost.ts';
