// Building DOM from store data without ever parsing it as HTML.
//
// Every string that reaches the page goes through a text node, an attribute set as a
// property, or `new Option(text, value)`. Nothing here uses innerHTML, insertAdjacentHTML
// or document.write: a table named `<img src=x onerror=alert(1)>` stays text.

/** Create an element; string children become text nodes. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'href') el.href = safeHref(value);
    else el[key] = value;
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Only relative links and http(s) URLs; anything else (javascript:, data:) becomes inert. */
export function safeHref(value) {
  const url = new URL(String(value), document.baseURI);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '#';
}

/** Fill a <select> with options (text and value set as properties). */
export function fillSelect(select, items, placeholder) {
  const current = select.value;
  clear(select);
  select.appendChild(new Option(placeholder, ''));
  for (const item of items) {
    const [value, label] = Array.isArray(item) ? item : [item, item];
    select.appendChild(new Option(label, value));
  }
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A short line sample for the legend (static styles only). */
export function lineSample({ color, dash, width = 2, double = false }) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', '44');
  svg.setAttribute('height', '12');
  const lines = double ? [3, 9] : [6];
  for (const y of lines) {
    const line = document.createElementNS(SVG, 'line');
    line.setAttribute('x1', '2');
    line.setAttribute('x2', '36');
    line.setAttribute('y1', String(y));
    line.setAttribute('y2', String(y));
    line.setAttribute('stroke', color);
    line.setAttribute('stroke-width', String(double ? 1.5 : width));
    if (dash) line.setAttribute('stroke-dasharray', dash);
    svg.appendChild(line);
  }
  const head = document.createElementNS(SVG, 'path');
  head.setAttribute('d', 'M36 2 L43 6 L36 10 Z');
  head.setAttribute('fill', color);
  svg.appendChild(head);
  return svg;
}
