import { describe, expect, it } from "vitest";
import { claimBatch, liveReplicasIn, relayUnits, unitsNotified } from "../../src/platform/outbox/relay.ts";
import { keyForAggregate, partitionOf } from "../../src/platform/events/partitions.ts";
import { fnv1a, laneOf } from "../../src/platform/events/lanes.ts";
import type { StreamName } from "../../src/platform/events/registry.ts";

const streams = ["orders", "inventory"] as StreamName[];

describe("relay units", () => {
  it("is one unit for everything on a single Redis, whatever the partition count", () => {
    expect(relayUnits({ prefix: "p", partitions: 1, cluster: false }, streams)).toEqual([{ key: "" }]);
    expect(relayUnits({ prefix: "p", partitions: 4, cluster: false }, streams)).toEqual([{ key: "" }]);
  });

  it("is one unit per stream partition on a cluster, each with its own lock key", () => {
    const units = relayUnits({ prefix: "p", partitions: 4, cluster: true }, streams);
    expect(units.map((u) => u.key)).toEqual([
      "{p:orders:0}",
      "{p:orders:1}",
      "{p:orders:2}",
      "{p:orders:3}",
      "{p:inventory:0}",
      "{p:inventory:1}",
      "{p:inventory:2}",
      "{p:inventory:3}",
    ]);
    expect(new Set(units.map((u) => u.lockKey)).size).toBe(8);
    for (const u of units) expect(Number.isInteger(u.lockKey) && Math.abs(u.lockKey!) < 2 ** 31).toBe(true);
  });

  it("puts every aggregate in exactly one unit: the one whose key the aggregate's events go to", () => {
    const layout = { prefix: "p", partitions: 3, cluster: true };
    const units = relayUnits(layout, streams);
    for (let n = 0; n < 500; n++) {
      const id = `agg-${n}-é😀`;
      for (const stream of streams) {
        const mine = units.filter(
          (u) => u.only!.stream === stream && fnv1a(id) % u.only!.partitions === u.only!.partition,
        );
        expect(mine.map((u) => u.key)).toEqual([keyForAggregate(layout, stream, id)]);
        expect(mine[0]!.only!.partition).toBe(partitionOf(id, 3));
      }
      // the lane and the partition come from the same hash: one (unit, lane) lock guards all of an aggregate's rows
      expect(laneOf(id)).toBe(fnv1a(id) % 16);
    }
  });

  it("claims only the unit's partition, under the unit's lock and the shared relay lock", () => {
    const [unit] = relayUnits({ prefix: "p", partitions: 4, cluster: true }, streams);
    const sql = claimBatch([3, 1], 50, unit);
    expect(sql).toContain("o.stream = 'orders' AND o.agg_hash % 4 = 0");
    expect(sql).toContain(
      `pg_try_advisory_xact_lock_shared(${0x0b0c}, l) AND pg_try_advisory_xact_lock(${unit!.lockKey}, l)`,
    );
    expect(sql).toContain("'{3,1}'::int[]");
    expect(sql).toContain("LIMIT 50");
    const single = claimBatch([0], 10);
    expect(single).not.toContain("agg_hash");
    expect(single).toContain(`pg_try_advisory_xact_lock(${0x0b0c}, l)`);
  });

  it("refuses to inline anything but integers and plain stream names", () => {
    expect(() =>
      claimBatch([1], 1, {
        key: "k",
        only: { stream: "x'; DROP" as StreamName, partition: 0, partitions: 2 },
        lockKey: 1,
      }),
    ).toThrow(/not a stream name/);
    expect(() => claimBatch([1], -1)).toThrow(/not a non-negative integer/);
  });

  it("counts a master's replicas that are online and acknowledging (INFO replication)", () => {
    const info = (...replicas: string[]) =>
      [
        "# Replication",
        "role:master",
        `connected_slaves:${replicas.length}`,
        ...replicas,
        "master_repl_offset:42",
        "",
      ].join("\r\n");
    expect(liveReplicasIn(info())).toBe(0);
    expect(liveReplicasIn(info("slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=0"))).toBe(1);
    expect(
      liveReplicasIn(
        info(
          "slave0:ip=127.0.0.1,port=7001,state=online,offset=42,lag=1",
          "slave1:ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0", // still syncing: holds nothing yet
          "slave2:ip=127.0.0.1,port=7003,state=online,offset=12,lag=30", // silent for 30 s: presumed gone
        ),
      ),
    ).toBe(1);
    expect(liveReplicasIn("# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n")).toBe(0);
  });

  it("wakes only the units a NOTIFY payload names (stream:agg_hash), all when it cannot tell", () => {
    const units = relayUnits({ prefix: "p", partitions: 4, cluster: true }, streams);
    const h = (id: string) => fnv1a(id);
    const unitOf = (stream: string, id: string) =>
      units.findIndex((u) => u.key === `{p:${stream}:${partitionOf(id, 4)}}`);
    expect(unitsNotified(units, `orders:${h("o-1")}`)).toEqual(new Set([unitOf("orders", "o-1")]));
    expect(unitsNotified(units, `orders:${h("o-1")},inventory:${h("sku-9")}`)).toEqual(
      new Set([unitOf("orders", "o-1"), unitOf("inventory", "sku-9")]),
    );
    expect(unitsNotified(units, "")).toBeUndefined(); // the previous trigger, or a big statement
    expect(unitsNotified(units, "orders:")).toBeUndefined(); // a row without agg_hash
    expect(unitsNotified(units, `payments:${h("x")}`)).toBeUndefined(); // a stream this relay does not know
    expect(unitsNotified([{ key: "" }], `orders:${h("o-1")}`)).toEqual(new Set([0]));
  });
});
