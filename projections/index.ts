/** The projections' public face: the kit, and the combined read model replay, the report and the dashboard fold. */
export { combine, evolverOf, fold, foldAsync, projection, readOf, step, stepChecked, Skipped, type CombineOptions, type FoldEvent, type InputOf, type Needs, type Projection, type StateOf, type Stepped } from './kit.ts';
export { evolveReadModel, initialReadModel, loadReadModel, projectReadModel, readModelProjection, type ReadModel, type ReadModelEvent } from './read-model.ts';
