// What every browser test shares: named checks that record a pass or a failure and go on,
// headless Debian Chromium launched the same way, and the closing line CI reads.
import { chromium } from 'playwright-core';

const results = [];

// Runs one named check; a thrown error fails it with its first line, and the next check runs.
export async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}

// Debian's Chromium (or $CHROMIUM), headless, with nothing that reaches the network by itself.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Closes the browser, prints `LABEL: N passed, M failed` and exits 1 on any failure.
export async function finish(browser, label) {
  await browser.close();
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${label}: ${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
