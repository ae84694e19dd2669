import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
cytoscape.use(dagre);
const n = Number(process.argv[2] || 500), m = Number(process.argv[3] || 1100);
// layered random DAG like the benchmark
const layers = Math.round(Math.sqrt(n));
const els = [];
for (let i = 0; i < n; i++) els.push({ data: { id: 'n' + i, w: 200, h: 40 } });
const layer = (i) => Math.floor(i * layers / n);
let k = 0; const seen = new Set();
while (seen.size < m) {
  const t = 1 + Math.floor(Math.random() * (n - 1)); const lt = layer(t); if (lt === 0) continue;
  const cand = []; for (let i = 0; i < n; i++) if (layer(i) === lt - 1) cand.push(i);
  const s = cand[Math.floor(Math.random() * cand.length)];
  const key = s + '>' + t; if (seen.has(key)) continue; seen.add(key);
  els.push({ data: { id: 'e' + (k++), source: 'n' + s, target: 'n' + t } });
}
for (const ranker of ['longest-path', 'network-simplex', 'tight-tree']) {
  const cy = cytoscape({ headless: true, styleEnabled: true, elements: els, style: [{ selector: 'node', style: { width: 'data(w)', height: 'data(h)' } }] });
  const t0 = performance.now();
  cy.layout({ name: 'dagre', rankDir: 'LR', ranker, animate: false, fit: false }).run();
  console.log(ranker, n, m, Math.round(performance.now() - t0), 'ms');
}
