// The browser client in real headless Chromium against a real server with bots in the room.
//
//   node e2e.mjs http://127.0.0.1:PORT ROOM OUT_DIR BOTS
//
// Checks: the page connects over arena.json.v1 and receives snapshots; its own player moves
// right while D is held; the bots in the room are drawn; a spectator page draws everyone; the
// lobby offers every game; the page plays tron (room ROOM-tron, where tron bots play too).
// Screenshots go to OUT_DIR. Every wait is on page state, with a timeout.
import { mkdirSync } from 'node:fs';
import { check, finish, launch } from './harness.mjs';

const [base, room, out, botsArg] = process.argv.slice(2);
const bots = Number(botsArg);
mkdirSync(out, { recursive: true });

const browser = await launch();
const errors = [];
const open = async (path) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`${path}: ${m.text()}`));
  await page.goto(`${base}${path}`);
  return page;
};
const wait = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: 15000 });

const play = await open(`/?name=browser&room=${room}`);
await check('the page joins over arena.json.v1 and receives snapshots', async () => {
  await wait(play, () => window.arena.snapshots > 10 && window.arena.ownPos !== null);
  const mode = await play.evaluate(() => window.arena.mode);
  if (mode !== 'play') throw new Error(`mode ${mode}`);
});
await check('its own player moves right while D is held', async () => {
  const before = await play.evaluate(() => window.arena.ownPos.x);
  await play.keyboard.down('d');
  await wait(play, (x) => window.arena.ownPos && window.arena.ownPos.x > x + 40, before);
  await play.keyboard.up('d');
});
await check(`the ${bots} bots in the room are drawn`, async () => {
  await wait(play, (n) => window.arena.drawnPlayers >= n + 1, bots);
});
await play.screenshot({ path: `${out}/play.png` });

const watch = await open(`/?spectate=${room}`);
await check('a spectator draws every player and the scoreboard', async () => {
  await wait(watch, (n) => window.arena.mode === 'spectate' && window.arena.drawnPlayers >= n + 1, bots);
  const board = await watch.evaluate(() => document.getElementById('board').textContent);
  if (!board.includes('browser')) throw new Error(`scoreboard: ${board}`);
});
await watch.screenshot({ path: `${out}/spectate.png` });

const lobby = await open('/');
await check('the lobby offers both games, the shooter first', async () => {
  await wait(lobby, () => document.getElementById('game-choice').options.length === 2);
  const games = await lobby.evaluate(() => [...document.getElementById('game-choice').options].map((o) => o.value));
  if (games.join() !== 'shooter,tron') throw new Error(`games: ${games}`);
});

const tron = await open(`/?name=cyclist&room=${room}-tron&game=tron`);
await check('the page plays tron: cycles and trails drawn, the bots included', async () => {
  await wait(tron, (n) => window.arena.game === 'tron' && window.arena.snapshots > 10
    && window.arena.drawnPlayers >= n + 1 && window.arena.drawnTrails > 0, bots);
});
await check('its cycle turns with the arrow keys', async () => {
  // Down then right: whichever way it faced, one of the two is not a reversal, and the cycle
  // then moves along it (or crashes and respawns: it must at least have moved).
  const start = await tron.evaluate(() => window.arena.ownPos);
  await tron.keyboard.down('ArrowDown');
  await wait(tron, (p) => window.arena.ownPos && (window.arena.ownPos.x !== p.x || window.arena.ownPos.y !== p.y), start);
  await tron.keyboard.up('ArrowDown');
});
await tron.screenshot({ path: `${out}/tron.png` });

await check('no script errors', async () => {
  if (errors.length) throw new Error(errors.join('; '));
});
await finish(browser, 'browser');
