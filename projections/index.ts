/** The projections' public face: the kit every projection is defined with. */
export { combine, evolverOf, fold, foldAsync, projection, step, type FoldEvent, type InputOf, type Needs, type Projection, type StateOf } from './kit.ts';
