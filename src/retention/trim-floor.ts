/**
 * Where a stream may be trimmed to (XTRIM MINID: entries with a smaller id go) without dropping
 * anything a consumer group still needs: entries pending (delivered, not acknowledged) or not yet
 * delivered to the group. Pure; the trimmer feeds it XINFO GROUPS / XPENDING answers.
 */
export interface GroupPosition {
  lastDeliveredId: string;
  /** Smallest pending id, or null when the group has nothing pending. */
  oldestPendingId: string | null;
}

export function compareIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const byMs = BigInt(am!) - BigInt(bm!);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(as) - BigInt(bs);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}

/** The id right after `id`: MINID of it evicts `id` itself. */
export function nextId(id: string): string {
  const [ms, seq = "0"] = id.split("-");
  return `${ms}-${BigInt(seq) + 1n}`;
}

export function safeTrimId(target: string, groups: GroupPosition[]): string {
  let floor = target;
  for (const g of groups) {
    const keepFrom = g.oldestPendingId ?? nextId(g.lastDeliveredId);
    if (compareIds(keepFrom, floor) < 0) floor = keepFrom;
  }
  return floor;
}
