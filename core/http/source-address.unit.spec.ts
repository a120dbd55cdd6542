import { test } from "node:test";
import assert from "node:assert/strict";
import { sourceAddress } from "./source-address.ts";

test("IPv4 addresses count alone; IPv4-mapped IPv6 is the IPv4 address", () => {
  assert.equal(sourceAddress("203.0.113.7"), "203.0.113.7");
  assert.equal(sourceAddress("::ffff:203.0.113.7"), "203.0.113.7");
  assert.equal(sourceAddress(undefined), "unknown");
});

test("IPv6 addresses count by their /64 network, whatever the spelling", () => {
  assert.equal(sourceAddress("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(sourceAddress("2001:0db8:0001:0002:ffff::1"), "2001:db8:1:2::/64");
  assert.equal(sourceAddress("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(sourceAddress("::1"), "0:0:0:0::/64");
  assert.equal(sourceAddress("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(sourceAddress("64:ff9b::198.51.100.1"), "64:ff9b:0:0::/64");
});
