/**
 * Command-line options of the benchmarks: `--flag value`, `--flag a,b,c` and bare `--switch`.
 * Numbers are range-checked, so a typo fails at once instead of running a meaningless benchmark.
 */
export interface Arg {
  /** The next argument, required. */
  value(): string;
  /** The next argument as a number within [min, max]. */
  number(min: number, max: number): number;
  /** The next argument as a comma list of numbers within [min, max]. */
  list(min: number, max: number): number[];
}

/** Walks argv; `handle` returns false for a flag it does not know, which is an error. */
export function readArgs(argv: string[], handle: (flag: string, arg: Arg) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const arg: Arg = {
      value,
      number: (min, max) => bounded(Number(value()), min, max, flag),
      list: (min, max) =>
        value()
          .split(",")
          .map((v) => bounded(Number(v), min, max, flag)),
    };
    if (!handle(flag, arg)) throw new Error(`unknown option ${flag}`);
  }
}

function bounded(n: number, min: number, max: number, name: string): number {
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be between ${min} and ${max}`);
  return n;
}
