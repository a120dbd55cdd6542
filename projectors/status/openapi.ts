import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { bearerAuth, json, keyedResponses } from "../../core/http/openapi.ts";

const StatusSchema = z
  .object({
    head: z.string().openapi({ description: "Position token of the log's head" }),
    projectors: z.array(
      z
        .object({
          name: z.string(),
          position: z.string(),
          lag: z.number().int(),
          pinned: z
            .object({
              version: z.number().int(),
              position: z.string(),
              lag: z.number().int(),
            })
            .optional()
            .openapi({
              description:
                "Present while readers are pinned to a past checkpoint (reckon switch --version): its version, " +
                "the position it was built up to and how many log entries readers do not see; position and lag " +
                "above stay the live version's, which the live consumer keeps writing",
            }),
        })
        .catchall(z.unknown())
        .openapi({ description: "A projection's applied position and how many events it is behind" }),
    ),
  })
  .catchall(z.unknown())
  .openapi("ProjectionStatus");

export function registerStatusOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  registry.registerPath({
    method: "get",
    path: "/v1/status",
    summary: "The log head and each projection's position and lag",
    security: [{ [bearer.name]: [] }],
    responses: { 200: json(StatusSchema, "Status"), ...keyedResponses("read") },
  });
}
