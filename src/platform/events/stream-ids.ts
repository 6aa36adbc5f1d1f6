/** Redis stream entry ids ("<ms>-<seq>"): ordering and successor, exact for any size. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function compareIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const byMs = BigInt(am!) - BigInt(bm!);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(as) - BigInt(bs);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}

/** The id right after `id`. */
export function nextId(id: string): string {
  const [ms, seq = "0"] = id.split("-");
  return `${ms}-${BigInt(seq) + 1n}`;
}
