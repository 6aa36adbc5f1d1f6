import type { Builder } from "../builder.ts";
import type { StreamName } from "../../events/registry.ts";
import { eventStreamEnum, registerDeadLetterSchema } from "./dead-letters.ts";
import { registerSystemStatusSchema } from "./system-status.ts";

/** The operators' fields (dead letters, system status), over whatever streams the modules declared. */
export function registerAdminSchema(builder: Builder, streams: readonly StreamName[]): void {
  const EventStream = eventStreamEnum(builder, streams);
  registerDeadLetterSchema(builder, EventStream);
  registerSystemStatusSchema(builder, streams, EventStream);
}
