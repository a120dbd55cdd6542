import { isIPv6 } from "node:net";

/**
 * The source a failed-authentication limit counts against: the peer's IPv4 address, or the /64 network of an
 * IPv6 address (one host usually holds a whole /64, so counting single IPv6 addresses would let it rotate
 * through 2^64 of them). Proxy headers are not trusted: behind a proxy, the proxy is the source.
 */
export function sourceAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return "unknown";
  if (!remoteAddress.includes(":")) return remoteAddress; // IPv4, the common case, without a regular expression
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped) return mapped[1]!;
  if (!isIPv6(remoteAddress)) return remoteAddress;
  // A zone id ("fe80::1%eth0") names the interface, not the host.
  return `${expandIPv6(remoteAddress.replace(/%.*$/, "")).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, "::" expanded (a trailing dotted IPv4 part counts as two). */
function expandIPv6(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":").flatMap(dottedToGroups));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => "0");
  return [...left, ...zeros, ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""));
}

function dottedToGroups(group: string): string[] {
  if (!group.includes(".")) return [group];
  const [a, b, c, d] = group.split(".").map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
