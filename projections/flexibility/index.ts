export {
  evolveFlexibility,
  initialFlexibility,
  MAX_REJECTIONS_KEPT,
  ORDER_STATUSES,
  flexibilityProjection,
  type AvailableWindow,
  type FlexOffer,
  type FlexOrder,
  type FlexibilityState,
  type OrderStatus,
  type OrderStep,
  type StressWindow,
} from './flexibility.ts';
export { flexOffers, flexOrders, flexTotals, isSold, orderMwh, stressWindows, type FlexTotals } from './queries.ts';
