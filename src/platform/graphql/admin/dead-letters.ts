import type { Builder } from "../builder.ts";
import { AppError, badInput } from "../../shared/errors.ts";
import { encodeEntryFields } from "../../events/stream-entry.ts";
import type { EventRegistry, StreamName } from "../../events/registry.ts";
import type { Context } from "../context.ts";
import {
  discardDeadLetter,
  getDeadLetter,
  listDeadLetters,
  parseDeadLetterId,
  replayDeadLetter,
  type DeadLetter,
} from "../../consumers/dead-letters.ts";

/** The EventStream enum: one value per stream the modules declared (ORDERS = "orders"). */
export function eventStreamEnum(builder: Builder, streams: readonly StreamName[]) {
  return builder.enumType("EventStream", {
    values: Object.fromEntries(streams.map((s) => [s.toUpperCase().replace(/\W/g, "_"), { value: s }])),
  });
}

export type EventStreamRef = ReturnType<typeof eventStreamEnum>;

/** How much of each envelope a `deadLetters` list carries; `deadLetter(id)` returns it whole. */
export const ENVELOPE_PREVIEW_CHARS = 2_048;

/** A letter as a list shows it: the envelope cut to a preview. */
type ListedLetter = DeadLetter & { preview?: true };

/** Dead letters: list, replay and discard (admins), over every stream. */
export function registerDeadLetterSchema(builder: Builder, EventStream: EventStreamRef) {
  const DeadLetterRef = builder.objectRef<ListedLetter>("DeadLetter").implement({
    description: "An event a consumer group gave up on, with why. Replay puts it back on its stream.",
    fields: (t) => ({
      id: t.exposeID("id"),
      stream: t.field({ type: EventStream, resolve: (d) => d.stream }),
      originalEntryId: t.exposeString("originalEntryId", {
        description: "Its entry id (cursor) on the original stream.",
      }),
      group: t.exposeString("group"),
      consumer: t.exposeString("consumer"),
      deliveries: t.exposeInt("deliveries"),
      reason: t.exposeString("reason", {
        description:
          "invalid-envelope, unknown-event-type, unknown-version, invalid-payload, permanent-error or max-deliveries-exceeded.",
      }),
      error: t.exposeString("error"),
      failedAt: t.field({ type: "DateTime", resolve: (d) => d.failedAt }),
      eventType: t.exposeString("eventType"),
      aggregateId: t.exposeString("aggregateId"),
      envelope: t.string({
        description: `The original event envelope, as JSON. In a deadLetters list only its first ${ENVELOPE_PREVIEW_CHARS} characters (see envelopeTruncated); deadLetter(id) returns it whole.`,
        resolve: (d) => (d.preview ? d.envelope.slice(0, ENVELOPE_PREVIEW_CHARS) : d.envelope),
      }),
      envelopeTruncated: t.boolean({
        description: "True when envelope is a preview, shorter than the original.",
        resolve: (d) => d.preview === true && d.envelope.length > ENVELOPE_PREVIEW_CHARS,
      }),
      envelopeLength: t.int({
        description: "The original envelope's length in characters.",
        resolve: (d) => d.envelope.length,
      }),
    }),
  });

  const DeadLetterEdge = builder.objectRef<ListedLetter>("DeadLetterEdge").implement({
    fields: (t) => ({
      cursor: t.string({ resolve: (d) => d.id }),
      node: t.field({ type: DeadLetterRef, resolve: (d) => d }),
    }),
  });

  const DeadLetterConnection = builder
    .objectRef<{ items: ListedLetter[]; hasNextPage: boolean }>("DeadLetterConnection")
    .implement({
      fields: (t) => ({
        edges: t.field({ type: [DeadLetterEdge], resolve: (c) => c.items }),
        hasNextPage: t.exposeBoolean("hasNextPage"),
        endCursor: t.string({ nullable: true, resolve: (c) => c.items.at(-1)?.id ?? null }),
      }),
    });

  builder.queryField("deadLetters", (t) =>
    t.field({
      type: DeadLetterConnection,
      description: "Dead letters of one stream, oldest first (admins).",
      authScopes: { admin: true },
      args: {
        stream: t.arg({ type: EventStream, required: true }),
        first: t.arg.int({ required: false, defaultValue: 20 }),
        after: t.arg.string({ required: false }),
      },
      resolve: async (_root, args, ctx) => {
        const first = args.first ?? 20;
        if (first < 1 || first > 100) throw badInput("first", "must be from 1 to 100");
        const stream = args.stream as StreamName;
        const after = args.after ? parseId(ctx, args.after, "after") : undefined;
        if (after && after.stream !== stream) throw badInput("after", `is a cursor of the ${after.stream} stream`);
        const page = await listDeadLetters(ctx.redis, ctx.layout, stream, first, after);
        return { ...page, items: page.items.map((d) => ({ ...d, preview: true as const })) };
      },
    }),
  );

  builder.queryField("deadLetter", (t) =>
    t.field({
      type: DeadLetterRef,
      nullable: true,
      description: "One dead letter with its whole envelope (admins); null when it is gone.",
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, ctx) => (await getDeadLetter(ctx.redis, ctx.layout, parseId(ctx, args.id))) ?? null,
    }),
  );

  builder.mutationFields((t) => ({
    replayDeadLetter: t.field({
      type: DeadLetterRef,
      description:
        "Puts the original event back on its stream (once) and removes the dead letter. Consumers that already applied it skip it. Admins only.",
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, ctx) => {
        const letter = await getDeadLetter(ctx.redis, ctx.layout, parseId(ctx, args.id));
        if (!letter)
          throw new AppError("NOT_FOUND", `dead letter ${args.id} not found (already replayed or discarded?)`, {
            field: "id",
          });
        const fields = replayFields(ctx.events, letter);
        const cursor = await replayDeadLetter(ctx.redis, ctx.layout, letter, fields);
        if (!cursor)
          throw new AppError("NOT_FOUND", `dead letter ${args.id} was replayed or discarded concurrently`, {
            field: "id",
          });
        ctx.log.warn(
          { deadLetter: letter.id, reason: letter.reason, eventType: letter.eventType, newCursor: cursor },
          "dead letter replayed",
        );
        return letter;
      },
    }),
    discardDeadLetter: t.field({
      type: DeadLetterRef,
      description: "Deletes a dead letter for good. Admins only.",
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, args, ctx) => {
        const ref = parseId(ctx, args.id);
        const letter = await getDeadLetter(ctx.redis, ctx.layout, ref);
        if (!letter || !(await discardDeadLetter(ctx.redis, ctx.layout, ref))) {
          throw new AppError("NOT_FOUND", `dead letter ${args.id} not found`, { field: "id" });
        }
        ctx.log.warn(
          { deadLetter: letter.id, reason: letter.reason, eventType: letter.eventType, envelope: letter.envelope },
          "dead letter discarded",
        );
        return letter;
      },
    }),
  }));
}

/** The entry as it was first published; routing keys recomputed when the envelope is valid. */
function replayFields(events: EventRegistry, letter: DeadLetter): string[] {
  try {
    const envelope = events.parseJson(letter.envelope);
    return encodeEntryFields(envelope, events.routingKeys(envelope), letter.envelope);
  } catch {
    return ["type", letter.eventType, "agg", letter.aggregateId, "keys", "", "env", letter.envelope];
  }
}

function parseId(ctx: Context, id: string | number, field = "id") {
  const partitions = ctx.layout.partitions;
  const parsed = parseDeadLetterId(String(id), partitions);
  if (!parsed)
    throw badInput(
      field,
      `must be a dead letter id such as ${partitions > 1 ? "orders:0:1732530000000-0" : "orders:1732530000000-0"}`,
    );
  return parsed;
}
