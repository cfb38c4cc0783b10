// The <order-tracker> element's own look, inside its shadow root: every colour, the font, the spacing
// and the radius are CSS custom properties a host page may set on the element (docs/client.md lists
// them), with these defaults in the light and the dark scheme. The defaults are the hosted page's
// palette (client/styles.css; tests/client/contrast.test.mjs holds them equal and checks WCAG AA).

export const PALETTES = Object.freeze({
  light: {
    bg: "#f7f7f9", fg: "#1d1d24", muted: "#5c5c6b", card: "#ffffff", line: "#d9d9e3", focus: "#2f5bff",
    pending: "#6b6b7b", active: "#1a66db", "on-active": "#ffffff", success: "#1a7f37", warning: "#b35900", cancelled: "#8250df", error: "#cf222e",
  },
  dark: {
    bg: "#0f1117", fg: "#e8e8ef", muted: "#a0a0b2", card: "#181b24", line: "#2c3040", focus: "#7a9bff",
    pending: "#a0a0b2", active: "#58a6ff", "on-active": "#0f1117", success: "#3fb950", warning: "#e3a008", cancelled: "#b392f0", error: "#ff7b72",
  },
});

// Not colours: the defaults of the other properties.
export const METRICS = Object.freeze({
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif',
  gap: ".5rem",
  radius: ".5rem",
});

const palette = (colours) =>
  Object.entries(colours).map(([name, value]) => `--_${name}: var(--order-tracker-${name}, ${value});`).join(" ");

export const TRACKER_CSS = `
:host { display: block; ${palette(PALETTES.light)}
  --_font: var(--order-tracker-font, ${METRICS.font}); --_gap: var(--order-tracker-gap, ${METRICS.gap});
  --_radius: var(--order-tracker-radius, ${METRICS.radius});
  color: var(--_fg); background: var(--_bg); font-family: var(--_font); line-height: 1.45;
  padding: var(--_gap); border-radius: var(--_radius); color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :host { ${palette(PALETTES.dark)} } }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.badge { display: inline-block; margin: 0 0 var(--_gap); padding: .2rem .7rem; border-radius: 999px; font-size: .85rem; border: 1px solid currentColor; }
.badge[data-status="connected"] { color: var(--_success); }
.badge[data-status="connecting"], .badge[data-status="reconnecting"] { color: var(--_warning); }
.badge[data-status="offline"] { color: var(--_error); }
.hint { color: var(--_muted); font-size: .9rem; margin: var(--_gap) 0 0; }
.progress { height: .5rem; background: var(--_line); border-radius: 999px; overflow: hidden; }
.progress-fill { height: 100%; width: 0; background: var(--_active); transition: width .4s ease; }
.progress[data-final="success"] .progress-fill { background: var(--_success); }
.progress[data-final="cancelled"] .progress-fill { background: var(--_cancelled); }
.timeline { list-style: none; margin: calc(var(--_gap) * 2) 0 0; padding: 0; }
.entry { display: grid; grid-template-columns: 2rem 1fr auto; align-items: center; gap: calc(var(--_gap) * 1.2); padding: .6rem .75rem; margin-bottom: var(--_gap); background: var(--_card); color: var(--_fg); border: 1px solid var(--_line); border-left: 4px solid var(--status-colour); border-radius: var(--_radius); }
.entry .icon { width: 1.5rem; height: 1.5rem; fill: var(--status-colour); }
.entry .label { font-weight: 600; overflow-wrap: anywhere; }
.entry time { color: var(--_muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
.entry.final { border-width: 2px 2px 2px 6px; font-size: 1.05rem; }
.entry.final::after { content: attr(data-final-label); grid-column: 2 / 4; font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: var(--status-colour); }
.status-pending { --status-colour: var(--_pending); }
.status-active { --status-colour: var(--_active); }
.status-success { --status-colour: var(--_success); }
.status-warning { --status-colour: var(--_warning); }
.status-cancelled { --status-colour: var(--_cancelled); }
.status-error { --status-colour: var(--_error); }
@media (prefers-reduced-motion: reduce) { .progress-fill { transition: none; } }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
