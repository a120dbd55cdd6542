/**
 * Redis Cluster hash slots, computed locally (CRC16/XMODEM of the key's hash tag, mod 16384), so that a batch
 * can be grouped by slot before it is sent, and a guard key can be named to live in a given slot.
 */
export const SLOTS = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

const encoder = new TextEncoder();

/** The slot Redis Cluster puts `key` in: only the first non-empty `{...}` counts, when there is one. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open >= 0) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(encoder.encode(key)) % SLOTS;
}

let tags: string[] | undefined;

/**
 * A short hash tag (`{s:…}`) whose key lands in `slot`: bookkeeping keys (one per slot) are named with it so
 * they share the slot of the data they guard. Built once: about 170,000 CRCs, a few tens of ms.
 */
export function slotTag(slot: number): string {
  if (tags === undefined) {
    const found: string[] = new Array<string>(SLOTS);
    let missing = SLOTS;
    for (let n = 0; missing > 0; n++) {
      const tag = `s:${n.toString(36)}`;
      const s = keySlot(tag);
      if (found[s] === undefined) {
        found[s] = `{${tag}}`;
        missing--;
      }
    }
    tags = found;
  }
  return tags[slot]!;
}
