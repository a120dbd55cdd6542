// Deterministic hashing for experiment assignment, bit-for-bit the scheme of GrowthBook's SDKs
// (hash version 2), so a user lands in the same bucket here, in any replica, after any restart,
// and in a GrowthBook SDK given the same seed and id.

/** Buckets per unit interval: hash values are multiples of 1/10000. */
export const BUCKET_RESOLUTION = 10_000;

const FNV32_OFFSET_BASIS = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;
const CHAR_CODE_0 = 48;

/** Continues an FNV-1a state over more text; FNV is streaming, so fnv(a + b) = continue(fnv(a), b). */
function fnvContinue(state: number, text: string): number {
  let hash = state;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV32_PRIME);
  }
  return hash >>> 0;
}

/**
 * FNV-1a, 32 bit, over UTF-16 code units (what `charCodeAt` yields), as GrowthBook's JS SDK does;
 * ids outside ASCII therefore hash like the JS SDK, not like SDKs that hash UTF-8 bytes.
 */
export function fnv1a32(text: string): number {
  return fnvContinue(FNV32_OFFSET_BASIS, text);
}

// Reused scratch space: a uint32 has at most 10 decimal digits, and the caller is synchronous.
const digits = new Uint8Array(10);

/** fnv1a32(String(n)) for a uint32 without building the string (the hot path runs per request). */
function fnv1a32OfDecimal(n: number): number {
  let count = 0;
  do {
    digits[count++] = n % 10;
    n = Math.floor(n / 10);
  } while (n > 0);
  let hash = FNV32_OFFSET_BASIS;
  for (let i = count - 1; i >= 0; i--) {
    hash ^= CHAR_CODE_0 + digits[i]!;
    hash = Math.imul(hash, FNV32_PRIME);
  }
  return hash >>> 0;
}

/**
 * Returns `unitId → position in [0, 1)` for one seed (the experiment key): GrowthBook's hash
 * version 2, fnv1a32(String(fnv1a32(seed + unitId))) % 10000 / 10000. The seed's FNV state is
 * computed once. GrowthBook replaced its biased version 1 with this; version 1 is not offered.
 */
export function createAssignmentHasher(seed: string): (unitId: string) => number {
  const seedState = fnv1a32(seed);
  return (unitId) =>
    (fnv1a32OfDecimal(fnvContinue(seedState, unitId)) % BUCKET_RESOLUTION) / BUCKET_RESOLUTION;
}

/** One-off form of `createAssignmentHasher(seed)(unitId)`. */
export function assignmentHash(seed: string, unitId: string): number {
  return createAssignmentHasher(seed)(unitId);
}
