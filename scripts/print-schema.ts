/** Writes schema.graphql from the code: `npm run schema:print`. A test fails when it is stale. */
import { writeFileSync } from "node:fs";
import { printedSchema } from "../src/schema.ts";

const target = new URL("../schema.graphql", import.meta.url);
writeFileSync(target, printedSchema());
console.log(`wrote ${target.pathname}`);
