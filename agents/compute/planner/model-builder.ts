/**
 * A column-wise sparse LP/MIP builder. The planner builds its model here and hands HiGHS
 * plain typed arrays (CSC); building LP text for thousands of jobs would cost more than the
 * solve. `toLpText` exists for debugging and for the text path of the worker.
 */
export interface SparseModel {
  readonly numCols: number;
  readonly numRows: number;
  readonly colCost: Float64Array;
  readonly colLower: Float64Array;
  readonly colUpper: Float64Array;
  readonly rowLower: Float64Array;
  readonly rowUpper: Float64Array;
  readonly starts: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
  /** 1 for an integer column, 0 for continuous. */
  readonly integrality: Int32Array;
  readonly offset: number;
}

export class ModelBuilder {
  private readonly cost: number[] = [];
  private readonly lower: number[] = [];
  private readonly upper: number[] = [];
  private readonly integer: number[] = [];
  private readonly starts: number[] = [0];
  private readonly idx: number[] = [];
  private readonly val: number[] = [];
  private readonly rLower: number[] = [];
  private readonly rUpper: number[] = [];
  offset = 0;

  get numCols(): number {
    return this.cost.length;
  }
  get numRows(): number {
    return this.rLower.length;
  }

  addRow(lower: number, upper: number): number {
    this.rLower.push(lower);
    this.rUpper.push(upper);
    return this.rLower.length - 1;
  }

  setRowBounds(row: number, lower: number, upper: number): void {
    this.rLower[row] = lower;
    this.rUpper[row] = upper;
  }

  /** Add a column; `rows`/`coefs` are its matrix entries (rows must already exist, no duplicates). */
  addCol(cost: number, lower: number, upper: number, rows: ReadonlyArray<number>, coefs: ReadonlyArray<number>, integer = false): number {
    this.cost.push(cost);
    this.lower.push(lower);
    this.upper.push(upper);
    this.integer.push(integer ? 1 : 0);
    for (let k = 0; k < rows.length; k++) {
      const v = coefs[k]!;
      if (v === 0) continue;
      this.idx.push(rows[k]!);
      this.val.push(v);
    }
    this.starts.push(this.idx.length);
    return this.cost.length - 1;
  }

  build(): SparseModel {
    return {
      numCols: this.cost.length,
      numRows: this.rLower.length,
      colCost: Float64Array.from(this.cost),
      colLower: Float64Array.from(this.lower),
      colUpper: Float64Array.from(this.upper),
      rowLower: Float64Array.from(this.rLower),
      rowUpper: Float64Array.from(this.rUpper),
      starts: Int32Array.from(this.starts),
      indices: Int32Array.from(this.idx),
      values: Float64Array.from(this.val),
      integrality: Int32Array.from(this.integer),
      offset: this.offset,
    };
  }
}

export function integerCount(m: SparseModel): number {
  let n = 0;
  for (let j = 0; j < m.numCols; j++) n += m.integrality[j]!;
  return n;
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(15).replace(/\.?0+$/, ''));

/** CPLEX LP text of a model, with columns x0.. and rows r0.. */
export function toLpText(m: SparseModel): string {
  const rowTerms: string[][] = Array.from({ length: m.numRows }, () => []);
  for (let j = 0; j < m.numCols; j++) {
    for (let k = m.starts[j]!; k < m.starts[j + 1]!; k++) {
      const v = m.values[k]!;
      rowTerms[m.indices[k]!]!.push(`${v < 0 ? '-' : '+'} ${num(Math.abs(v))} x${j}`);
    }
  }
  const obj: string[] = [];
  for (let j = 0; j < m.numCols; j++) {
    const c = m.colCost[j]!;
    if (c !== 0) obj.push(`${c < 0 ? '-' : '+'} ${num(Math.abs(c))} x${j}`);
  }
  const lines = ['Minimize', ` obj: ${obj.length ? obj.join(' ') : '0 x0'}`, 'Subject To'];
  for (let i = 0; i < m.numRows; i++) {
    const lhs = rowTerms[i]!.length ? rowTerms[i]!.join(' ') : '0 x0';
    const lo = m.rowLower[i]!;
    const hi = m.rowUpper[i]!;
    if (lo === hi) lines.push(` r${i}: ${lhs} = ${num(lo)}`);
    else {
      if (Number.isFinite(lo)) lines.push(` r${i}_lo: ${lhs} >= ${num(lo)}`);
      if (Number.isFinite(hi)) lines.push(` r${i}_hi: ${lhs} <= ${num(hi)}`);
    }
  }
  lines.push('Bounds');
  for (let j = 0; j < m.numCols; j++) {
    const lo = m.colLower[j]!;
    const hi = m.colUpper[j]!;
    lines.push(` ${Number.isFinite(lo) ? num(lo) : '-inf'} <= x${j} <= ${Number.isFinite(hi) ? num(hi) : '+inf'}`);
  }
  const ints = [];
  for (let j = 0; j < m.numCols; j++) if (m.integrality[j]) ints.push(`x${j}`);
  if (ints.length) lines.push('Generals', ` ${ints.join(' ')}`);
  lines.push('End');
  return lines.join('\n');
}
