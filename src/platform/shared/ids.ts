import { z } from "zod";

/**
 * Id schemas shared by the platform (token subjects) and the modules (customer ids are token
 * subjects; order ids are UUIDs): one definition each.
 */
export const subjectIdSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(64, "must be at most 64 characters")
  .regex(/^[A-Za-z0-9._:@-]+$/, "may contain only letters, digits and . _ : @ -");

export const uuidSchema = (message = "must be a UUID") => z.uuid({ message });
