/**
 * Effect Schemas of the external grid-data APIs (Carbon Intensity, Elexon Insights). These are
 * shapes of other people's answers, not CACO messages, so they are not in the message registry.
 */
export * from './carbon-intensity.ts';
export * from './elexon.ts';
export { openStruct } from './open-struct.ts';
export { CARBON_INTENSITY_RANGE, CARBON_MEDIAN_ABOVE, PRICE_MEDIAN_ABOVE, PRICE_RANGE, plausibleOrNull } from './plausible.ts';
