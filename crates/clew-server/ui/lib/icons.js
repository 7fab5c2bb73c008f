// Inline SVG icons (16 px, stroke = currentColor), so they follow the theme. Constant markup
// only: nothing from the server goes through here.

const PATHS = {
  logo: '<path d="M3 8c0-2.8 2.2-5 5-5s5 2.2 5 5-2.2 5-5 5" /><path d="M8 13c-1.7 0-3-1.3-3-3s1.3-3 3-3 3 1.3 3 3" /><circle cx="8" cy="10" r="0.9" fill="currentColor" stroke="none" />',
  search: '<circle cx="7" cy="7" r="4.5" /><path d="m10.5 10.5 3 3" />',
  chevronRight: '<path d="m6 3.5 4.5 4.5L6 12.5" />',
  chevronLeft: '<path d="M10 3.5 5.5 8l4.5 4.5" />',
  trash: '<path d="M2.5 4.5h11M6 4.5V3h4v1.5M4 4.5l.7 8.5h6.6l.7-8.5" />',
  tag: '<path d="M2.5 2.5h5l6 6-5 5-6-6z" /><circle cx="5.5" cy="5.5" r="0.9" fill="currentColor" stroke="none" />',
  plus: '<path d="M8 3v10M3 8h10" />',
  x: '<path d="m4 4 8 8M12 4l-8 8" />',
  clock: '<circle cx="8" cy="8" r="5.5" /><path d="M8 5v3.2l2 1.3" />',
  chat: '<path d="M2.5 3.5h11v7h-6l-3 2.5v-2.5h-2z" />',
  list: '<path d="M5.5 4h8M5.5 8h8M5.5 12h8" /><circle cx="2.8" cy="4" r="0.8" fill="currentColor" stroke="none" /><circle cx="2.8" cy="8" r="0.8" fill="currentColor" stroke="none" /><circle cx="2.8" cy="12" r="0.8" fill="currentColor" stroke="none" />',
  flask: '<path d="M6 2.5h4M6.5 2.5v4L3 12.5c-.4.8.1 1.5 1 1.5h8c.9 0 1.4-.7 1-1.5L9.5 6.5v-4" />',
  user: '<circle cx="8" cy="5.5" r="2.5" /><path d="M3 13.5c.6-2.4 2.6-3.5 5-3.5s4.4 1.1 5 3.5" />',
  coins: '<ellipse cx="8" cy="4.5" rx="4.5" ry="2" /><path d="M3.5 4.5v3.5c0 1.1 2 2 4.5 2s4.5-.9 4.5-2V4.5M3.5 8v3.5c0 1.1 2 2 4.5 2s4.5-.9 4.5-2V8" />',
  refresh: '<path d="M13 8a5 5 0 1 1-1.5-3.6M13 2.5v2.5h-2.5" />',
  alert: '<path d="M8 2.5 14 13H2z" /><path d="M8 6.5v3M8 11.2v.3" />',
  copy: '<rect x="5.5" y="5.5" width="8" height="8" rx="1.5" /><path d="M3.5 10.5h-1v-8h8v1" />',
  arrowUp: '<path d="M8 13V3M4 7l4-4 4 4" />',
  arrowDown: '<path d="M8 3v10M4 9l4 4 4-4" />',
  filter: '<path d="M2.5 3.5h11l-4.2 5v4l-2.6 1v-5z" />',
};

/** An <svg> element for the named icon (an empty one for an unknown name). */
export function icon(name, size = 16) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "1.5");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("icon");
  svg.innerHTML = PATHS[name] || "";
  return svg;
}
