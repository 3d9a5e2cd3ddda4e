// arena-bot's HTML pages in real headless Chromium, opened from disk as a person would.
//
//   node report.mjs REPORT.html COMPARE.html OUT_DIR [PASS|FAIL]
//
// REPORT.html is `arena-bot --html` of a short real run with the server's metrics scraped;
// COMPARE.html is `arena-bot compare A.json B.json --html`. Checks, for each page: it loads from
// file:// and asks for nothing else (works offline); the verdict is shown; every chart the page
// should have is there; every chart drew data (a line of three or more points with a length,
// histogram bars, or marks) inside a visible <svg>; no script error or console error. Full-page
// screenshots go to OUT_DIR. The last line is `report: N passed, M failed`.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { check, finish, launch } from './harness.mjs';

const [reportPath, comparePath, out, expected = 'PASS'] = process.argv.slice(2);
mkdirSync(out, { recursive: true });

// The charts of a run whose server was scraped: the bots' series, the server's, distributions.
const RUN_CHARTS = [
  'chart-bots', 'chart-events', 'chart-messages', 'chart-bytes', 'chart-rtt', 'chart-input-ack',
  'chart-snapshot-rate', 'chart-jitter', 'chart-prediction',
  'chart-server-cpu', 'chart-server-rss', 'chart-server-tick', 'chart-server-trouble',
  'chart-server-closed', 'chart-rtt-distribution', 'chart-input-ack-distribution',
];

const browser = await launch();

// What each chart drew, measured in the browser: its <svg>'s size; lines with three or more
// points and a length (axes, ticks and legend samples have two); marks (a lone point, an
// event); bars: rects standing on the x axis (the lowest long horizontal two-point line), so
// neither the background nor the legend's box counts.
function measureCharts() {
  return [...document.querySelectorAll('figure.chart')].map((fig) => {
    const svg = fig.querySelector('svg');
    if (!svg) return { id: fig.id, svg: false };
    const box = svg.getBoundingClientRect();
    const width = svg.viewBox.baseVal.width;
    const polylines = [...svg.querySelectorAll('polyline')];
    const lines = polylines.filter((p) => p.points.numberOfItems >= 3 && p.getBBox().width > 0).length;
    const axisY = Math.max(...polylines.filter((p) => {
      if (p.points.numberOfItems !== 2) return false;
      const [a, b] = [p.points.getItem(0), p.points.getItem(1)];
      return a.y === b.y && Math.abs(b.x - a.x) > width / 2;
    }).map((p) => p.points.getItem(0).y));
    const bars = [...svg.querySelectorAll('rect')].filter((r) => {
      const b = r.getBBox();
      return b.width > 0 && b.height > 0 && Math.abs(b.y + b.height - axisY) <= 2;
    }).length;
    const marks = svg.querySelectorAll('polygon, circle').length;
    return {
      id: fig.id, kind: fig.dataset.kind, svg: true, width: box.width, height: box.height,
      lines, bars, marks,
    };
  });
}

async function open(path, label) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  const foreign = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('request', (r) => { if (!r.url().startsWith('file://')) foreign.push(r.url()); });
  await check(`${label}: the page loads from disk`, async () => {
    const response = await page.goto(pathToFileURL(resolve(path)).href);
    if (response && !response.ok()) throw new Error(`status ${response.status()}`);
  });
  return { page, errors, foreign };
}

async function verify({ page, errors, foreign }, label, { verdict, charts }) {
  await check(`${label}: the verdict is shown`, async () => {
    const v = page.locator('#verdict');
    await v.waitFor({ state: 'visible', timeout: 5000 });
    const text = (await v.textContent()).trim();
    if (!verdict.test(text)) throw new Error(`verdict "${text}" does not match ${verdict}`);
  });
  const drawn = await page.evaluate(measureCharts);
  await check(`${label}: every chart it should have is there`, async () => {
    const ids = drawn.map((c) => c.id);
    const missing = charts.filter((id) => !ids.includes(id));
    if (missing.length) {
      const why = await page.locator('ul.not-drawn').allTextContents();
      throw new Error(`missing ${missing.join(', ')}; not drawn: ${why.join(' ')}`);
    }
  });
  await check(`${label}: all ${drawn.length} charts drew data`, async () => {
    if (drawn.length === 0) throw new Error('no chart at all');
    const empty = drawn.filter((c) => !c.svg || c.width < 300 || c.height < 100
      || (c.kind === 'bars' ? c.bars === 0 : c.lines + c.marks === 0));
    if (empty.length) throw new Error(`empty: ${empty.map((c) => JSON.stringify(c)).join(' ')}`);
  });
  await check(`${label}: works offline (no request beyond the file)`, async () => {
    if (foreign.length) throw new Error(foreign.join(', '));
  });
  await check(`${label}: no script errors`, async () => {
    if (errors.length) throw new Error(errors.join('; '));
  });
  await page.screenshot({ path: `${out}/${label}.png`, fullPage: true });
}

const report = await open(reportPath, 'report');
await verify(report, 'report', {
  verdict: new RegExp(`^${expected}`),
  charts: RUN_CHARTS,
});
const compared = await open(comparePath, 'compare');
await verify(compared, 'compare', {
  verdict: /^no regression \(\d+ figures within tolerance\)$/,
  charts: RUN_CHARTS,
});
await check('compare: the table lists the judged figures', async () => {
  const rows = await compared.page.locator('table.compare tr').count();
  const text = await compared.page.locator('table.compare').textContent();
  if (rows < 20 || !text.includes('input_ack_p99') || !text.includes('server_cpu_per_bot')) {
    throw new Error(`${rows} rows`);
  }
});
await finish(browser, 'report');
