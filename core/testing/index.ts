export { DeciderSpec, type Checked, type GivenEvent, type Outcome, type SideEffects } from './decider-spec.ts';
