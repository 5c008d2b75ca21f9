/** Half-hours the agent plans over with the forecast: 48 h. */
export const HORIZON_SLOTS = 96;
/** The longest window the planner looks over: 7 days. */
export const LONG_HORIZON_SLOTS = 336;
/** Slots ahead for which flexibility can be offered (the coordination agent sells ≤ 12 h ahead). */
export const OFFER_SLOTS = 26;
