// Bundle src/ into the Python package's static folder: pip users need no Node.
//   npm ci && npm run build
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// OUT_DIR: build elsewhere (tests/unit/api/test_ui_bundle.py compares such a build with the committed one)
const out = process.env.OUT_DIR || join(here, '..', 'plugins', 'purpose_lineage', 'api', 'static');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  minify: process.env.MINIFY !== "0",
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: join(out, 'lineage.js'),
  legalComments: 'eof',
  logLevel: 'info',
});
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'));
copyFileSync(join(here, 'src', 'lineage.css'), join(out, 'lineage.css'));
