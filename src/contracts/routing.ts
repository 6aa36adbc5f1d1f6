import { badInput } from "../platform/shared/errors.ts";
import { subjectIdSchema, uuidSchema } from "../platform/shared/ids.ts";

/**
 * The routing keys events carry ("order:<id>", "customer:<id>", "sku:<sku>") and the same keys
 * built from subscription arguments: one spelling for writers and filters.
 */
export const orderKey = (orderId: string) => `order:${orderId}`;
export const customerKey = (customerId: string) => `customer:${customerId}`;
export const skuKey = (sku: string) => `sku:${sku}`;

export const orderIdSchema = uuidSchema("must be an order id (UUID)");
export const customerIdSchema = subjectIdSchema;

/** Routing keys for subscription arguments, validated: a bad id is a BAD_USER_INPUT error, not "no events". */
export function routingKeysFor(args: {
  orderId?: string | number | null;
  customerId?: string | number | null;
  sku?: string | null;
}): string[] {
  const keys: string[] = [];
  if (args.orderId != null) {
    const id = orderIdSchema.safeParse(String(args.orderId));
    if (!id.success) throw badInput("orderId", "must be an order id (UUID)");
    keys.push(orderKey(id.data));
  }
  if (args.customerId != null) {
    const id = customerIdSchema.safeParse(String(args.customerId));
    if (!id.success) throw badInput("customerId", id.error.issues[0]!.message);
    keys.push(customerKey(id.data));
  }
  if (args.sku != null) {
    if (args.sku.length < 1 || args.sku.length > 64) throw badInput("sku", "must be 1 to 64 characters");
    keys.push(skuKey(args.sku));
  }
  return keys;
}
