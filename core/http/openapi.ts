import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";

/** Each role contributes its paths from the same zod schemas that validate its requests. */
export type OpenApiRegistrar = (registry: OpenAPIRegistry) => void;

export function buildOpenApiDocument(registrars: readonly OpenApiRegistrar[]) {
  const registry = new OpenAPIRegistry();
  for (const register of registrars) register(registry);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Reckon API",
      version: "1",
      description: "Real-time recommendations and experiment analytics. Authorization: Bearer <API key>.",
    },
    security: [{ bearer: [] }],
  });
}

/** The bearer scheme every path uses; registering it twice is harmless, so each registrar may call this. */
export function bearerAuth(registry: OpenAPIRegistry) {
  return registry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
}
