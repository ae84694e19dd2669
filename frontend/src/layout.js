// Layered layout: dagre (through cytoscape-dagre, on a headless Cytoscape) ranks the datasets
// left to right; an expanded dataset is a box whose columns are stacked rows, so the layout
// only ever sees datasets, never the (many more) columns.

import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';

cytoscape.use(dagre);

export const ROW_H = 24;
export const COL_W = 170;
export const PAD = 8;
export const HEADER_H = 22;
export const COLLAPSED_H = 40;
const CHAR_W = 6.6; // average glyph width of the 11px label font
export const BADGE_H = 16;

export function badgeWidth(text) {
  return Math.ceil(text.length * 5.8) + 12;
}

/** Width of a collapsed dataset box for its label. */
export function collapsedWidth(label) {
  return Math.min(320, Math.max(120, Math.ceil(label.length * CHAR_W) + 24));
}

/** The size of each drawn dataset: collapsed box, or header + one row per shown column. */
export function datasetSize(entry, rowWidth) {
  if (!entry.expanded) return { w: collapsedWidth(entry.label), h: COLLAPSED_H };
  const rows = entry.rows;
  return { w: Math.max(rowWidth + 2 * PAD, collapsedWidth(entry.label)), h: HEADER_H + rows * ROW_H + 2 * PAD };
}

/**
 * Centre positions of the datasets, ranked left to right by dagre.
 *
 * @param {{id: string, w: number, h: number}[]} boxes
 * @param {[string, string][]} links dataset-level edges (duplicates ignored)
 * @returns {Map<string, {x: number, y: number}>}
 */
export function layoutDatasets(boxes, links) {
  const seen = new Set();
  const elements = boxes.map((b) => ({ group: 'nodes', data: { id: b.id, w: b.w, h: b.h } }));
  for (const [s, t] of links) {
    const key = `${s}>${t}`;
    if (s === t || seen.has(key)) continue;
    seen.add(key);
    elements.push({ group: 'edges', data: { id: `l${seen.size}`, source: s, target: t } });
  }
  const cy = cytoscape({
    headless: true,
    styleEnabled: true,
    elements,
    style: [{ selector: 'node', style: { width: 'data(w)', height: 'data(h)', shape: 'rectangle' } }],
  });
  cy.layout({
    name: 'dagre',
    rankDir: 'LR',
    nodeSep: 24,
    rankSep: 110,
    edgeSep: 8,
    ranker: boxes.length > 400 ? 'longest-path' : 'network-simplex',
    fit: false,
    animate: false,
  }).run();
  const out = new Map();
  cy.nodes().forEach((n) => {
    const p = n.position();
    out.set(n.id(), { x: p.x, y: p.y });
  });
  cy.destroy();
  return out;
}
