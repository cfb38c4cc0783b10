// Status icons as inline SVG built with DOM calls: no emoji font needed (a headless browser without
// one draws the tutorial's emoji as empty boxes) and no HTML parsing of anything.

const SVG = "http://www.w3.org/2000/svg";

// One 24x24 path per status.
const PATHS = {
  pending: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 5h-2v6l5 3 1-1.7-4-2.3z", // clock
  active: "M4 12a8 8 0 0 1 13.7-5.7L15 9h7V2l-2.9 2.9A10 10 0 0 0 2 12zm16 0a8 8 0 0 1-13.7 5.7L9 15H2v7l2.9-2.9A10 10 0 0 0 22 12z", // arrows
  success: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-1.5 14.5-4-4 1.4-1.4 2.6 2.6 5.6-5.6 1.4 1.4z", // check
  warning: "M1 21h22L12 2zm12-3h-2v-2h2zm0-4h-2v-4h2z", // triangle
  cancelled: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm5 13.6L15.6 17 12 13.4 8.4 17 7 15.6 10.6 12 7 8.4 8.4 7 12 10.6 15.6 7 17 8.4 13.4 12z", // cross
  error: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-2h2zm0-4h-2V7h2z", // exclamation
};

export const STATUSES = Object.keys(PATHS);

export function statusIcon(document, status) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", PATHS[status] || PATHS.error);
  path.setAttribute("fill-rule", "evenodd"); // the glyph is cut out of its circle
  svg.appendChild(path);
  return svg;
}
