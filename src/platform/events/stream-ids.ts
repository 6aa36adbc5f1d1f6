/** Redis stream entry ids ("<ms>-<seq>"): ordering and successor, exact for any size. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function compareIds(a: string, b: string): number {
  const ad = a.indexOf("-");
  const bd = b.indexOf("-");
  const am = ad < 0 ? a : a.slice(0, ad);
  const bm = bd < 0 ? b : b.slice(0, bd);
  return compareDecimal(am, bm) || compareDecimal(ad < 0 ? "0" : a.slice(ad + 1), bd < 0 ? "0" : b.slice(bd + 1));
}

/** Two non-negative decimal integers: as numbers while exact (the usual case, on every hot path), else as BigInts. */
function compareDecimal(x: string, y: string): number {
  if (x.length <= 15 && y.length <= 15) {
    const d = Number(x) - Number(y);
    return d === 0 ? 0 : d < 0 ? -1 : 1;
  }
  const d = BigInt(x) - BigInt(y);
  return d === 0n ? 0 : d < 0n ? -1 : 1;
}

/** The id right after `id`. */
export function nextId(id: string): string {
  const [ms, seq = "0"] = id.split("-");
  return `${ms}-${BigInt(seq) + 1n}`;
}
