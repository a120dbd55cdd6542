import { z } from "zod";

/**
 * What serving records for every recommendation answer, so analytics can attribute later interactions to the
 * list, the model and the candidate source that produced them. Stored in the event log (kind `recommendation`)
 * with `event_id` = the answer's `recommendation_id`, so a record written twice is stored once.
 */
export interface RecommendationServedEvent {
  /** The answer's `recommendation_id` (a UUID): the idempotency key of the record. */
  event_id: string;
  type: "recommendation_served";
  user_id: string;
  /** When the answer was produced (server clock, ISO-8601). */
  timestamp: string;
  /** The ranker's registry version; null for the heuristic ranker. */
  model_version: number | null;
  /** Present when the request ran under an experiment and the user was assigned a variant. */
  experiment?: { key: string; variant: string };
  /** The list as answered, best first: rank 1 is the first item. */
  items: ServedItem[];
}

export interface ServedItem {
  item_id: string;
  rank: number;
  /** The candidate source that proposed the item (`serving/ranking/candidate-sources.ts`), or the fill. */
  source: string;
}

export const RECOMMENDATION_SERVED = "recommendation_served";

/** The record as it travels in the log: what consumers check a `recommendation` message against. */
export const RecommendationServedSchema = z.looseObject({
  event_id: z.string(),
  type: z.literal(RECOMMENDATION_SERVED),
  user_id: z.string().min(1),
  timestamp: z.string(),
  model_version: z.number().int().nullable(),
  experiment: z.object({ key: z.string(), variant: z.string() }).optional(),
  items: z.array(z.object({ item_id: z.string().min(1), rank: z.number().int().min(1), source: z.string() })),
});

/** One answer as serving has it at hand; turned into its record off the request path. */
export interface ServedAnswer {
  recommendationId: string;
  userId: string;
  at: Date;
  modelVersion: number | null;
  experiment?: { key: string; variant: string } | undefined;
  items: readonly { item_id: string; source: string }[];
}

/** The record of one answer (pure: the id and time come from the caller). */
export function recommendationServed(input: ServedAnswer): RecommendationServedEvent {
  return {
    event_id: input.recommendationId,
    type: RECOMMENDATION_SERVED,
    user_id: input.userId,
    timestamp: input.at.toISOString(),
    model_version: input.modelVersion,
    ...(input.experiment ? { experiment: input.experiment } : {}),
    items: input.items.map((item, i) => ({ item_id: item.item_id, rank: i + 1, source: item.source })),
  };
}
