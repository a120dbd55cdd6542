// The public surface of the merchandising rule write model: serving imports the definition types from here.
export * from "./definition-schema.ts";
export * from "./decider.ts";
