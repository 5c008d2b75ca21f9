/** Europe/London's offset from UTC; the calendar lives in core/time. */
export { londonOffsetMs } from '../../../core/time/index.ts';
