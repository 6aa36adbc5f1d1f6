import { compareIds, nextId } from "../events/stream-ids.ts";

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

export function safeTrimId(target: string, groups: GroupPosition[]): string {
  let floor = target;
  for (const g of groups) {
    const keepFrom = g.oldestPendingId ?? nextId(g.lastDeliveredId);
    if (compareIds(keepFrom, floor) < 0) floor = keepFrom;
  }
  return floor;
}
