// The <order-tracker> element and every module it imports, gzipped: under 12 KB, and the figure
// docs/client.md prints is today's. Measured unminified (there is no build step), so a minifier could
// only make it smaller.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { gzipSync } from "node:zlib";

const CLIENT = new URL("../../client/", import.meta.url);
const LIMIT_BYTES = 12 * 1024;

/** order-tracker.js and what it imports, transitively. */
function moduleGraph(entry) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const source = readFileSync(new URL(name, CLIENT), "utf8");
    for (const [, imported] of source.matchAll(/^import\s[^"']*["']\.\/([\w-]+\.js)["']/gm)) visit(imported);
  };
  visit(entry);
  return [...seen];
}

export function trackerSize() {
  const files = moduleGraph("order-tracker.js");
  // Each file is fetched on its own: the sum of each one gzipped is what a browser downloads.
  const gzipped = files.map((name) => gzipSync(readFileSync(new URL(name, CLIENT)), { level: 9 }).length).reduce((a, b) => a + b);
  return { files, gzipped };
}

test("the element and its modules are under 12 KB gzipped", () => {
  const { files, gzipped } = trackerSize();
  assert.deepEqual(files.sort(), ["backoff.js", "config.js", "connection.js", "icons.js", "order-tracker.js", "timeline.js", "tracker-style.js"]);
  assert.ok(gzipped < LIMIT_BYTES, `${gzipped} bytes`);
});

test("docs/client.md states today's size", () => {
  const doc = readFileSync(new URL("../../docs/client.md", import.meta.url), "utf8");
  const [, stated] = doc.match(/every module it imports: ([\d.]+) KB gzipped/);
  assert.equal(stated, (trackerSize().gzipped / 1024).toFixed(1));
});
