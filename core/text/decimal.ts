/**
 * A number as a person writes one in a data file or on a command line: an optional sign,
 * digits with an optional point, an optional exponent (`-12.5`, `.5`, `1e3`). `Number()` also
 * reads `0x1F`, `0b101`, `0o17` and `Infinity`; nobody writing an intensity, a price or a count
 * means those, and reading them would turn a typo or a hostile file into a plausible value.
 * Spaces around the number are allowed, since CSV writers pad after commas (`a, b`); spaces
 * inside (`1 2`) are not, since `Number()` would refuse them and they hide two values in one.
 */
// `\d+(?:\.\d*)?`, not `\d+\.?\d*`: the same numbers, but each digit matched one way, so a
// long near-miss (60k digits and an `x`) is linear rather than quadratic.
const DECIMAL = /^\s*[+-]?(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** True when `text` is a plain decimal number (see DECIMAL); it may still overflow to Infinity. */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/** `text` as a number when it is a plain decimal (see DECIMAL), else NaN: what Number() would be, without its other notations. */
export function decimalOrNaN(text: string): number {
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}
