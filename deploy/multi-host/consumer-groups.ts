import { AssignerProtocol, type Kafka } from "kafkajs";

/** Who owns which partitions of one consumer group, as the group coordinator reports it. */
export interface GroupAssignment {
  group: string;
  state: string;
  /** Member host (the address it connected from) → partitions of `topic` it owns. */
  byHost: Record<string, number[]>;
}

export async function describeGroup(kafka: Kafka, group: string, topic: string): Promise<GroupAssignment> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    const g = groups[0]!;
    const byHost: Record<string, number[]> = {};
    for (const m of g.members) {
      const host = m.clientHost.replace(/^\//, "");
      const decoded =
        m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
      const partitions = decoded?.assignment[topic] ?? [];
      byHost[host] = [...(byHost[host] ?? []), ...partitions].sort((a, b) => a - b);
    }
    return { group, state: g.state, byHost };
  } finally {
    await admin.disconnect();
  }
}

/**
 * True when the group is stable and exactly `hosts` own its partitions, every one of the `partitions` owned by
 * one of them and each host owning at least one.
 */
export function ownedExactlyBy(a: GroupAssignment, hosts: readonly string[], partitions: number): boolean {
  if (a.state !== "Stable") return false;
  const owners = Object.keys(a.byHost).sort();
  if (owners.join(",") !== [...hosts].sort().join(",")) return false;
  if (hosts.some((h) => a.byHost[h]!.length === 0)) return false;
  const owned = Object.values(a.byHost)
    .flat()
    .sort((x, y) => x - y);
  return owned.join(",") === Array.from({ length: partitions }, (_, i) => i).join(",");
}

/** Per partition, how far the group's committed offset is behind the end of the topic (0 = caught up). */
export async function committedLag(kafka: Kafka, group: string, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return ends
      .sort((x, y) => x.partition - y.partition)
      .map((end) => {
        const c = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
        return Number(end.high) - Math.max(0, Number(c));
      });
  } finally {
    await admin.disconnect();
  }
}
