import { existsSync, renameSync, rmSync } from 'node:fs';

/**
 * Put a finished folder in place of an older one of the same name without a moment in which
 * neither exists: the old one is moved aside first and removed only once the new one is in
 * place; if the move in fails, the old one is put back. (Removing the old one first lost it
 * when the rename then failed.)
 */
export function replaceFolder(finished: string, target: string): void {
  const aside = `${target}.previous`;
  rmSync(aside, { recursive: true, force: true });
  const hadOld = existsSync(target);
  if (hadOld) renameSync(target, aside);
  try {
    renameSync(finished, target);
  } catch (err) {
    if (hadOld) renameSync(aside, target);
    throw err;
  }
  if (hadOld) rmSync(aside, { recursive: true, force: true });
}
