import { dlqOf, partitionKey, type StreamLayout } from "../../src/platform/events/partitions.ts";

/** The layout of a single Redis with one partition per stream: what most test files run on. */
export const singleLayout = (prefix: string): StreamLayout => ({ prefix, partitions: 1, cluster: false });

/** The Redis key of a stream (one partition) and of its dead letters. */
export const streamKey = (prefix: string, stream: string) => partitionKey(singleLayout(prefix), stream, 0);
export const dlqKey = (prefix: string, stream: string) => dlqOf(streamKey(prefix, stream));
