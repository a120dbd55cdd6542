import { test } from "node:test";
import assert from "node:assert/strict";
import {
  allowedEdits,
  buildTextQuery,
  documentText,
  editDistance,
  facetValues,
  queryTokens,
  typoMatches,
} from "./text.ts";

test("query words: lower-cased letters and digits, deduplicated, at most eight", () => {
  assert.deepEqual(queryTokens("  Red-Lamp, red LAMP 60W! "), ["red", "lamp", "60w"]);
  assert.deepEqual(queryTokens("Café crème"), ["café", "crème"]);
  assert.deepEqual(queryTokens("a b c d e f g h i j"), ["a", "b", "c", "d", "e", "f", "g", "h"]);
  assert.deepEqual(queryTokens("?!"), []);
});

test("document text: the title, and the string attributes as the body", () => {
  assert.deepEqual(
    documentText({ title: "Desk lamp", attributes: { brand: "Lumo", watts: 60, dim: true, x: null } }),
    {
      title: "Desk lamp",
      body: "Lumo",
    },
  );
  assert.deepEqual(documentText({ attributes: {} }), { title: "", body: "" });
});

test("facet values: key=value of every non-null scalar, sorted", () => {
  assert.deepEqual(facetValues({ colour: "red", watts: 60, dim: true, gone: null }), [
    "colour=red",
    "dim=true",
    "watts=60",
  ]);
});

test("edit distance counts a swap of neighbours as one edit", () => {
  assert.equal(editDistance("lamp", "lamp"), 0);
  assert.equal(editDistance("lamp", "lmap"), 1);
  assert.equal(editDistance("lamp", "lam"), 1);
  assert.equal(editDistance("lamp", "lamps"), 1);
  assert.equal(editDistance("lamp", "lump"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
});

test("typos allowed grow with the word: none below 5 letters, 1 from 5, 2 from 9", () => {
  assert.deepEqual(["lamp", "clamp", "keyboard", "keyboards"].map(allowedEdits), [0, 1, 1, 2]);
  assert.deepEqual(typoMatches("lantren", ["lantern", "lanterns", "latern", "pattern", "lantren"]), [
    "lantern",
  ]);
  assert.deepEqual(typoMatches("keybaords", ["keyboard", "keyboards", "kayboards"]), [
    "kayboards",
    "keyboard",
    "keyboards",
  ]);
  assert.deepEqual(typoMatches("lmap", ["lamp"]), []);
});

test("the text query: every word as a prefix or one of its corrections; any exact word as the bonus", () => {
  const typos = new Map([["lmap", ["lamp"]]]);
  assert.deepEqual(buildTextQuery(["red", "lmap"], typos), {
    match: "'red':* & ('lmap':* | 'lamp')",
    exact: "'red' | 'lmap'",
  });
  assert.deepEqual(buildTextQuery(["o'neil"], new Map()), { match: "'o''neil':*", exact: "'o''neil'" });
});
