import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffCeiling, backoffDelay } from "../../client/backoff.js";

const options = { baseMs: 500, capMs: 15000 };

test("the ceiling doubles per attempt up to the cap", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((a) => backoffCeiling(a, options)), [500, 1000, 2000, 4000, 8000, 15000, 15000]);
});

test("full jitter: a delay is uniform in [0, ceiling)", () => {
  assert.equal(backoffDelay(3, options, () => 0), 0);
  assert.equal(backoffDelay(3, options, () => 0.5), 2000);
  assert.equal(backoffDelay(3, options, () => 0.999999), 3999);
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const delay = backoffDelay(attempt, options);
    assert.ok(delay >= 0 && delay < backoffCeiling(attempt, options));
  }
});
