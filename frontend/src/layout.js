// Layered layouts of the datasets, left to right. An expanded dataset is a box whose columns
// are stacked rows, so a layout only ever sees datasets, never the (many more) columns.
//
// Up to DAGRE_LIMIT datasets: dagre (through cytoscape-dagre, on a headless Cytoscape), whose
// crossing reduction gives the tidiest drawing. Above it dagre takes seconds (about 1-13 s for
// 500 datasets on a 2-core machine, by ranker), so a linear-time layered layout takes over:
// longest-path ranks, barycenter ordering sweeps, overlap-free stacking.

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
  return boxes.length <= DAGRE_LIMIT ? dagreLayout(boxes, links) : layeredLayout(boxes, links);
}

export const DAGRE_LIMIT = 120;
const NODE_SEP = 24;
const RANK_SEP = 110;

function dagreLayout(boxes, links) {
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
    nodeSep: NODE_SEP,
    rankSep: RANK_SEP,
    edgeSep: 8,
    ranker: 'network-simplex',
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

/**
 * A linear-time layered layout (Sugiyama without dummy nodes): ranks by longest path over
 * the graph with back edges reversed, sources pulled next to their first successor, then
 * barycenter sweeps order each rank and boxes are stacked near their neighbours' centre.
 */
export function layeredLayout(boxes, links, { sweeps = 4 } = {}) {
  const ids = boxes.map((b) => b.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;
  const succ = Array.from({ length: n }, () => []);
  const pred = Array.from({ length: n }, () => []);
  const seen = new Set();
  for (const [s, t] of links) {
    const a = index.get(s);
    const b = index.get(t);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a * n + b;
    if (seen.has(key)) continue;
    seen.add(key);
    succ[a].push(b);
    pred[b].push(a);
  }
  // topological order (Kahn); nodes left on cycles are appended, their back edges ignored
  const indeg = pred.map((p) => p.length);
  const order = [];
  const queue = [];
  for (let i = 0; i < n; i += 1) if (!indeg[i]) queue.push(i);
  const placed = new Uint8Array(n);
  let head = 0;
  const drain = () => {
    while (head < queue.length) {
      const v = queue[head++];
      if (placed[v]) continue;
      placed[v] = 1;
      order.push(v);
      for (const w of succ[v]) if (--indeg[w] === 0) queue.push(w);
    }
  };
  drain();
  for (let i = 0; i < n; i += 1) {
    if (!placed[i]) { queue.push(i); drain(); }
  }
  const pos = new Int32Array(n);
  order.forEach((v, k) => { pos[v] = k; });
  const rank = new Int32Array(n);
  for (const v of order) {
    for (const u of pred[v]) if (pos[u] < pos[v]) rank[v] = Math.max(rank[v], rank[u] + 1);
  }
  // pull sources right, next to their nearest successor (shorter edges)
  for (let k = order.length - 1; k >= 0; k -= 1) {
    const v = order[k];
    if (pred[v].length || !succ[v].length) continue;
    let min = Infinity;
    for (const w of succ[v]) if (pos[w] > pos[v]) min = Math.min(min, rank[w]);
    if (min !== Infinity && min - 1 > rank[v]) rank[v] = min - 1;
  }
  let maxRank = 0;
  for (let i = 0; i < n; i += 1) maxRank = Math.max(maxRank, rank[i]);
  const ranks = Array.from({ length: maxRank + 1 }, () => []);
  for (const v of order) ranks[rank[v]].push(v);
  const slot = new Float64Array(n);
  const renumber = (r) => ranks[r].forEach((v, k) => { slot[v] = k; });
  ranks.forEach((_, r) => renumber(r));
  const bary = (v, nbrs) => {
    let sum = 0;
    let count = 0;
    for (const u of nbrs[v]) { sum += slot[u] / Math.max(1, ranks[rank[u]].length); count += 1; }
    return count ? sum / count : slot[v] / Math.max(1, ranks[rank[v]].length);
  };
  for (let sweep = 0; sweep < sweeps; sweep += 1) {
    const down = sweep % 2 === 0;
    for (let k = 0; k <= maxRank; k += 1) {
      const r = down ? k : maxRank - k;
      const key = new Map(ranks[r].map((v) => [v, bary(v, down ? pred : succ)]));
      ranks[r].sort((a, b) => key.get(a) - key.get(b));
      renumber(r);
    }
  }
  // x by rank (each rank as wide as its widest box); y: each rank stacked in its order, centred
  const out = new Map();
  let x = 0;
  for (let r = 0; r <= maxRank; r += 1) {
    const nodes = ranks[r];
    let width = 0;
    let total = -NODE_SEP;
    for (const v of nodes) {
      width = Math.max(width, boxes[v].w);
      total += boxes[v].h + NODE_SEP;
    }
    let cursor = -total / 2;
    for (const v of nodes) {
      out.set(ids[v], { x: x + width / 2, y: cursor + boxes[v].h / 2 });
      cursor += boxes[v].h + NODE_SEP;
    }
    x += width + RANK_SEP;
  }
  return out;
}
