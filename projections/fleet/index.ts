export { fleetView, type FleetTotals, type FleetView, type SiteTotals } from './fleet.ts';
