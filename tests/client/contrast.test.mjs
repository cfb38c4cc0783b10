// WCAG AA contrast of the page's colour variables, in both schemes, read from client/styles.css (the
// <order-tracker> element's defaults are the same palette: the last test holds them equal).
// axe-core (tests/browser/test_accessibility.py) audits the text it can see; this covers what it cannot:
// the FINAL mark (generated content), the status icons and the focus ring, for every status colour.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const css = readFileSync(new URL("../../client/styles.css", import.meta.url), "utf8");

function variables(block) {
  return Object.fromEntries([...block.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]));
}

const light = variables(css.slice(0, css.indexOf("@media (prefers-color-scheme: dark)")));
const dark = { ...light, ...variables(css.slice(css.indexOf("@media (prefers-color-scheme: dark)")).split("}\n}")[0]) };

function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const TEXT = ["fg", "muted", "pending", "active", "success", "warning", "cancelled", "error"]; // text: 4.5:1

for (const [scheme, colours] of [["light", light], ["dark", dark]]) {
  test(`${scheme}: every text and status colour reads at 4.5:1 on the page and on a card`, () => {
    for (const name of TEXT) {
      for (const ground of ["bg", "card"]) {
        const ratio = contrast(colours[name], colours[ground]);
        assert.ok(ratio >= 4.5, `${scheme} --${name} on --${ground}: ${ratio.toFixed(2)}:1`);
      }
    }
  });

  test(`${scheme}: the Track button's text reads at 4.5:1 and the focus ring stands out at 3:1`, () => {
    assert.ok(contrast(colours["on-active"], colours.active) >= 4.5, `${scheme} button text`);
    for (const ground of ["bg", "card"]) {
      assert.ok(contrast(colours.focus, colours[ground]) >= 3, `${scheme} focus ring on --${ground}`);
    }
  });
}

test("the dark scheme overrides every colour the light one sets", () => {
  assert.deepEqual(Object.keys(variables(css.slice(css.indexOf("@media (prefers-color-scheme: dark)")))).sort(), Object.keys(light).sort());
});

test("the <order-tracker> element's default palette is the page's, in both schemes", async () => {
  const { PALETTES } = await import("../../client/tracker-style.js");
  assert.deepEqual(PALETTES.light, light);
  assert.deepEqual(PALETTES.dark, dark);
});
