import { CacoError } from '../core/errors/index.ts';

/** A model cannot answer for the input it was given (too little history, unknown feature value). */
export class ModelInputError extends CacoError {
  override readonly _tag = 'ModelInputError';
  constructor(readonly modelId: string, reason: string) {
    super(`${modelId}: ${reason}`);
  }
}

/** A model file or its parameters are missing or do not fit together. */
export class ModelLoadError extends CacoError {
  override readonly _tag = 'ModelLoadError';
  constructor(readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
  }
}
