// The browser client in real headless Chromium against a real server with bots in the room.
//
//   node e2e.mjs http://127.0.0.1:PORT ROOM OUT_DIR BOTS
//
// Checks: the page connects over arena.json.v1 and receives snapshots; it acknowledges them and
// applies deltas, and says how far behind it draws; its own player moves right while D is held;
// the bots in the room are drawn; a spectator page draws everyone, and the player page's views,
// rebuilt from deltas, equal the spectator's complete snapshots of the same ticks (in both
// games); a lost baseline falls back to a complete snapshot; a hit is marked where the player
// saw the victim; the lobby offers every game; the page plays tron (room ROOM-tron, where tron
// bots play too); it plays the replay of room ROOM-replay (where bots played a short while and
// left), listed in the lobby: ticks advance, pause holds, seeks land on their tick (two viewers
// see the same entities there), 4x runs faster than 1x, the end holds the last tick. Playing
// goes through POST /api/matchmake: each join (a link, a named room, quick-play from the lobby,
// tron) asked it, connected to the URL it answered, with its ticket, and landed in the room it
// named; a full room (ROOM-full, filled by bots) and a blank name are refused in the lobby with
// the server's reason; a 429 is asked once more after its Retry-After.
// Screenshots go to OUT_DIR. Every wait is on page state, with a timeout.
//
// The server's view box must cover the whole map, so a player's view holds every entity a
// spectator's does, and the server must record replays (both in browser-test.sh's config).
import { mkdirSync } from 'node:fs';
import { check, finish, launch } from './harness.mjs';

const [base, room, out, botsArg] = process.argv.slice(2);
const bots = Number(botsArg);
mkdirSync(out, { recursive: true });

const browser = await launch();
const errors = [];
// What each page asked the matchmaker, { method, body, status, answer, at } in order, and the
// WebSockets it opened, { url, first: the first frame it sent, parsed }.
const traffic = new Map();
// A page at `path`; its script and console errors are collected, except console messages that
// `expected` matches (a 404 the page is meant to get, say). `setup(page)` runs before it loads.
const open = async (path, expected = null, setup = null) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && !(expected && expected.test(m.text()))
    && errors.push(`${path}: ${m.text()}`));
  const seen = { matchmakes: [], sockets: [] };
  traffic.set(page, seen);
  page.on('response', async (r) => {
    if (r.url() !== `${base}/api/matchmake`) return;
    const request = r.request();
    const entry = { method: request.method(), body: request.postDataJSON(), status: r.status(), answer: null, at: Date.now() };
    seen.matchmakes.push(entry);
    entry.answer = await r.json().catch(() => ({}));
  });
  page.on('websocket', (ws) => {
    const socket = { url: ws.url(), first: null };
    seen.sockets.push(socket);
    ws.once('framesent', (f) => { socket.first = JSON.parse(f.payload); });
  });
  if (setup) await setup(page);
  await page.goto(`${base}${path}`);
  return page;
};
const wait = (page, fn, arg, timeout = 15000) => page.waitForFunction(fn, arg, { timeout });
const sleep = (ms) => new Promise((done) => { setTimeout(done, ms); });
const nextSnapshot = async (page) => {
  const tick = await page.evaluate(() => window.arena.tick);
  await wait(page, (t) => window.arena.tick > t, tick);
};

// Object keys sorted, so equal values print equal whatever order their fields arrived in.
const canonical = (v) => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x)
  ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

// Compares the views `player` holds (rebuilt from deltas) with `spectator`'s complete snapshots
// of the same ticks, over fresh snapshots until `enough` ticks matched; throws on the first
// difference, naming the entity.
async function sameAsComplete(player, spectator, enough) {
  let matched = 0;
  const deadline = Date.now() + 15000;
  while (matched < enough) {
    if (Date.now() > deadline) throw new Error(`only ${matched} of ${enough} ticks were held by both pages in time`);
    const mine = await player.evaluate(() => window.arena.views());
    const theirs = await spectator.evaluate((ticks) => ticks.map((t) => window.arena.viewAt(t)), mine.map((v) => v.tick));
    mine.forEach(({ tick, ents }, i) => {
      if (!theirs[i]) return;
      const want = new Map(theirs[i].map((e) => [e.id, canonical(e)]));
      const got = new Map(ents.map((e) => [e.id, canonical(e)]));
      for (const id of new Set([...want.keys(), ...got.keys()])) {
        if (want.get(id) !== got.get(id)) {
          throw new Error(`tick ${tick}, entity ${id}: page ${got.get(id)}, complete snapshot ${want.get(id)}`);
        }
      }
      matched += 1;
    });
    await nextSnapshot(player);
  }
  return matched;
}

// How `page` joined, checked: one POST /api/matchmake on the page's origin (after `refused`
// refusals) answered with a ticket; one WebSocket, to the answer's url, whose Hello carried that
// ticket and no room options; and the page's room is the answer's. Returns the matchmakes, the
// last one the answer.
async function matchmade(page, refused = 0) {
  await wait(page, () => window.arena.snapshots > 0);
  const seen = traffic.get(page);
  const deadline = Date.now() + 5000;
  while (seen.matchmakes.some((m) => !m.answer) || seen.sockets.some((x) => !x.first)) {
    if (Date.now() > deadline) throw new Error('the matchmaker\'s answer or the Hello was not seen');
    await sleep(50);
  }
  const { matchmakes, sockets } = seen;
  if (matchmakes.length !== refused + 1 || matchmakes.some((m) => m.method !== 'POST')
    || matchmakes[refused].status !== 200) {
    throw new Error(`matchmakes: ${matchmakes.map((m) => `${m.method} ${m.status}`).join(', ') || 'none'}`);
  }
  const { answer } = matchmakes[refused];
  if (!/^v3\./.test(answer.ticket) || !answer.url || !answer.room || answer.reserved_ms !== 15000) {
    throw new Error(`answer ${JSON.stringify(answer)}`);
  }
  if (sockets.length !== 1 || sockets[0].url !== answer.url) {
    throw new Error(`sockets ${sockets.map((x) => x.url)}, the answer said ${answer.url}`);
  }
  const hello = sockets[0].first.Hello;
  if (!hello || hello.ticket !== answer.ticket || hello.options !== null) {
    throw new Error(`first frame ${JSON.stringify(sockets[0].first)}`);
  }
  const joined = await page.evaluate(() => window.arena.room);
  if (joined !== answer.room) throw new Error(`the page is in ${joined}, the answer said ${answer.room}`);
  return matchmakes;
}

// The lobby's error line once shown, whether the lobby is still up, and the name it holds.
async function lobbyRefusal(page) {
  await wait(page, () => !document.getElementById('lobby-error').hidden);
  return page.evaluate(() => ({
    text: document.getElementById('lobby-error').textContent,
    lobby: document.getElementById('lobby').style.display !== 'none',
    name: document.getElementById('name').value,
  }));
}

// Bytes per second the page receives over the next `ms` (as the page counts them).
async function rate(page, ms) {
  const count = () => page.evaluate(() => ({ bytes: window.arena.bytes, at: performance.now() }));
  const a = await count();
  await wait(page, (until) => performance.now() >= until, a.at + ms, ms + 5000);
  const b = await count();
  return Math.round(((b.bytes - a.bytes) * 1000) / (b.at - a.at));
}

const play = await open(`/?name=browser&room=${room}`);
await check('the page joins over arena.json.v1 and receives snapshots', async () => {
  await wait(play, () => window.arena.snapshots > 10 && window.arena.ownPos !== null);
  const mode = await play.evaluate(() => window.arena.mode);
  if (mode !== 'play') throw new Error(`mode ${mode}`);
});
await check(`its join went through POST /api/matchmake: to the answer's url, with its ticket, into ${room}`, async () => {
  const [m] = await matchmade(play);
  if (canonical(m.body) !== canonical({ name: 'browser', room, game: 'shooter' })) throw new Error(`asked ${JSON.stringify(m.body)}`);
  if (m.answer.room !== room || m.answer.game !== 'shooter') throw new Error(`answer ${JSON.stringify(m.answer)}`);
});
await check('it acknowledges snapshots and applies the deltas that follow', async () => {
  await wait(play, () => window.arena.deltas > 30);
  const a = await play.evaluate(() => {
    const { deltas, snapshots, syncErrors, lastSyncError, lastInput, tick } = window.arena;
    return { deltas, snapshots, syncErrors, lastSyncError, lastInput, tick };
  });
  if (a.syncErrors) throw new Error(`${a.syncErrors} snapshots did not apply: ${a.lastSyncError}`);
  if (!a.lastInput || !(a.lastInput.ack > 0) || a.lastInput.ack > a.tick) {
    throw new Error(`last input ${JSON.stringify(a.lastInput)} at tick ${a.tick}`);
  }
  const bps = await rate(play, 2000);
  console.log(`     ${bps} bytes/s received; ${a.deltas} of ${a.snapshots} snapshots were deltas`);
});
await check('each input says it draws the others 0 to 4 ticks behind its ack', async () => {
  await wait(play, () => window.arena.behinds.length >= 100);
  const behinds = await play.evaluate(() => window.arena.behinds);
  const bad = behinds.filter((b) => !(b >= 0 && b <= 4 * 64));
  if (bad.length) throw new Error(`behind out of range: ${bad.slice(0, 10)} of ${behinds.length}`);
  // 0 only when the page draws the newest snapshot as it is: before it has two.
  const zeros = behinds.filter((b) => b === 0).length;
  if (zeros > behinds.length / 10) throw new Error(`${zeros} of ${behinds.length} inputs say behind 0`);
  // Drawing runs one snapshot interval behind the newest snapshot: that many ticks, give or
  // take how late snapshots arrive.
  const interval = await play.evaluate(() => window.arena.tickRate / window.arena.snapshotRate);
  const sorted = [...behinds].sort((x, y) => x - y);
  const median = sorted[sorted.length >> 1];
  console.log(`     behind: min ${sorted[0]}, median ${median}, max ${sorted[sorted.length - 1]} (1/64 ticks)`);
  if (median < 32 * interval || median > 128 * interval) {
    throw new Error(`median behind ${median}, expected about ${64 * interval} (one snapshot interval)`);
  }
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
await check('the player\'s views, rebuilt from deltas, equal complete snapshots of the same ticks', async () => {
  const before = await play.evaluate(() => window.arena.deltas);
  const matched = await sameAsComplete(play, watch, 30);
  const after = await play.evaluate(() => ({ deltas: window.arena.deltas, errors: window.arena.syncErrors }));
  if (after.deltas <= before || after.errors) throw new Error(`deltas ${before} -> ${after.deltas}, errors ${after.errors}`);
  console.log(`     ${matched} ticks compared`);
});
await check('a lost baseline falls back to a complete snapshot, then deltas again', async () => {
  const before = await play.evaluate(() => {
    const a = window.arena;
    a.dropViews();
    return { errors: a.syncErrors, complete: a.snapshots - a.deltas, deltas: a.deltas };
  });
  // The snapshot in flight is a delta against a view the page no longer holds.
  await wait(play, (b) => window.arena.syncErrors > b.errors
    && window.arena.snapshots - window.arena.deltas > b.complete
    && window.arena.deltas > b.deltas + 10, before);
  const errors = await play.evaluate(() => window.arena.syncErrors);
  if (errors - before.errors > 3) throw new Error(`${errors - before.errors} snapshots failed before the page recovered`);
  await sameAsComplete(play, watch, 10);
});
// Fires at the nearest living bot, aiming where the page draws it, each snapshot, until
// `done(hits)` (run in the page on its own hits) returns a hit or `ms` pass; returns that hit.
async function fireUntil(done, ms) {
  const deadline = Date.now() + ms;
  await play.mouse.down();
  try {
    for (;;) {
      const target = await play.evaluate(() => {
        const a = window.arena;
        const me = a.ownPos;
        const views = a.views();
        const live = views.length ? views[views.length - 1].ents
          .filter((e) => e.id !== a.me && e.kind.Player && e.kind.Player.alive) : [];
        if (!me || !live.length) return null;
        const away = (e) => Math.hypot(e.pos[0] - me.x, e.pos[1] - me.y);
        live.sort((p, q) => away(p) - away(q));
        return a.screenOf(live[0].id);
      });
      if (target) await play.mouse.move(target.x, target.y);
      const hit = await play.evaluate(`(${done})(window.arena.hits)`);
      if (hit || Date.now() > deadline) return hit;
      await nextSnapshot(play);
    }
  } finally {
    await play.mouse.up();
  }
}
await check('a hit on a moving victim is marked where the player saw it, not where it is', async () => {
  // Lag compensation judged the shot against the victim as the page drew it, behind the newest
  // snapshot: the marker goes there, off the victim's position in the snapshot of the hit.
  const hit = await fireUntil((hits) => hits.find((h) => h.victimPos
    && Math.hypot(h.at[0] - h.victimPos[0], h.at[1] - h.victimPos[1]) >= 1), 30000);
  if (!hit) throw new Error('no hit on a moving bot in 30 s of firing at the nearest one');
  if (hit.marker[0] !== hit.at[0] || hit.marker[1] !== hit.at[1]) {
    throw new Error(`marker at ${hit.marker}, the victim was seen at ${hit.at}`);
  }
  // At most the longest rewind (400 ms) of movement from where the victim was at that tick.
  const rules = await play.evaluate(() => window.arena.settings.rules);
  const off = Math.hypot(hit.at[0] - hit.victimPos[0], hit.at[1] - hit.victimPos[1]);
  if (off > rules.max_speed * 0.4 + 2 * rules.player_radius) {
    throw new Error(`seen at ${hit.at}, ${off.toFixed(1)} units from the victim at ${hit.victimPos}`);
  }
  console.log(`     marked ${off.toFixed(1)} units from where the victim was at that tick`);
  await play.screenshot({ path: `${out}/hit.png` });
});
await check('after a kill (health, score, deaths, respawn) the views still equal complete snapshots', async () => {
  const kill = await fireUntil((hits) => hits.find((h) => h.health === 0), 45000);
  if (!kill) throw new Error('no kill in 45 s of firing at the nearest bot');
  await sameAsComplete(play, watch, 10);
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
  const [m] = await matchmade(tron);
  if (m.body.game !== 'tron' || m.answer.game !== 'tron' || !m.answer.url.endsWith('/ws/tron')) {
    throw new Error(`asked ${JSON.stringify(m.body)}, answered ${JSON.stringify(m.answer)}`);
  }
});
await check('its cycle turns with the arrow keys', async () => {
  // Down then right: whichever way it faced, one of the two is not a reversal, and the cycle
  // then moves along it (or crashes and respawns: it must at least have moved).
  const start = await tron.evaluate(() => window.arena.ownPos);
  await tron.keyboard.down('ArrowDown');
  await wait(tron, (p) => window.arena.ownPos && (window.arena.ownPos.x !== p.x || window.arena.ownPos.y !== p.y), start);
  await tron.keyboard.up('ArrowDown');
});
await check('tron: the cycle\'s views, rebuilt from deltas, equal complete snapshots', async () => {
  const watchTron = await open(`/?spectate=${room}-tron&game=tron`);
  await wait(watchTron, () => window.arena.snapshots > 5);
  await sameAsComplete(tron, watchTron, 30);
  const a = await tron.evaluate(() => ({ deltas: window.arena.deltas, errors: window.arena.syncErrors, ack: window.arena.lastInput.ack }));
  if (a.deltas < 10 || a.errors || !(a.ack > 0)) throw new Error(JSON.stringify(a));
  await watchTron.close();
});
await tron.screenshot({ path: `${out}/tron.png` });
await Promise.all([play, watch, lobby, tron].map((p) => p.close()));

// Matchmaking: every way to play asks POST /api/matchmake first.
await check('a /?name=ann&room=duel link matchmakes into duel and plays there as ann', async () => {
  const duel = await open('/?name=ann&room=duel');
  try {
    const [m] = await matchmade(duel);
    if (m.body.name !== 'ann' || m.body.room !== 'duel' || m.answer.room !== 'duel') {
      throw new Error(`asked ${JSON.stringify(m.body)}, answered ${JSON.stringify(m.answer)}`);
    }
    await wait(duel, () => window.arena.names.get(window.arena.me) === 'ann');
  } finally {
    await duel.close();
  }
});
await check('quick-play from the lobby form matchmakes with no room and lands where the answer said', async () => {
  const quick = await open('/');
  try {
    await quick.fill('#name', 'quick');
    await quick.click('#join button[type=submit]');
    const [m] = await matchmade(quick);
    if (m.body.name !== 'quick' || m.body.room !== null) throw new Error(`asked ${JSON.stringify(m.body)}`);
  } finally {
    await quick.close();
  }
});
const fullRoom = `${room}-full`;
await check(`a full room (${fullRoom}: bots hold its 2 seats) is refused in the lobby with the server's reason`, async () => {
  const deadline = Date.now() + 15000;
  for (;;) {
    const found = (await (await fetch(`${base}/api/rooms`)).json()).find((r) => r.name === fullRoom);
    if (found && found.players >= found.max_players) break;
    if (Date.now() > deadline) throw new Error(`${fullRoom} did not fill: ${JSON.stringify(found)}`);
    await sleep(200);
  }
  const full = await open(`/?name=ann&room=${fullRoom}`, /Failed to load resource.*503/);
  try {
    const shown = await lobbyRefusal(full);
    if (!shown.text.includes(`room ${fullRoom} (2/2) is full`) || !shown.lobby || shown.name !== 'ann') {
      throw new Error(`shows ${JSON.stringify(shown)}`);
    }
    const { matchmakes, sockets } = traffic.get(full);
    if (matchmakes.length !== 1 || matchmakes[0].status !== 503 || matchmakes[0].answer.kind !== 'room_full' || sockets.length) {
      throw new Error(`matchmakes ${JSON.stringify(matchmakes)}, ${sockets.length} sockets`);
    }
    await full.screenshot({ path: `${out}/refused.png` });
  } finally {
    await full.close();
  }
});
await check('a blank name typed into the lobby is refused with the server\'s reason', async () => {
  const blank = await open('/', /Failed to load resource.*400/);
  try {
    await blank.fill('#name', '   ');
    await blank.click('#join button[type=submit]');
    const shown = await lobbyRefusal(blank);
    if (!shown.text.includes('bad name: name is empty') || !shown.lobby) throw new Error(`shows ${JSON.stringify(shown)}`);
    const { matchmakes, sockets } = traffic.get(blank);
    if (matchmakes.length !== 1 || matchmakes[0].status !== 400 || sockets.length) {
      throw new Error(`matchmakes ${JSON.stringify(matchmakes)}, ${sockets.length} sockets`);
    }
  } finally {
    await blank.close();
  }
});
await check('a 429 is asked once more after its Retry-After; the page goes where the answer says (another host)', async () => {
  // The first answer is a 429; the second the server's, sending the page to localhost rather
  // than the page's 127.0.0.1, as a fleet sends it to another process.
  let asked = 0;
  const reroute = (page) => page.route('**/api/matchmake', async (route) => {
    asked += 1;
    if (asked === 1) {
      await route.fulfill({ status: 429, headers: { 'Retry-After': '1' }, json: { error: 'slow down', kind: 'rate_limited' } });
      return;
    }
    const response = await route.fetch();
    const answer = await response.json();
    answer.url = answer.url.replace('://127.0.0.1:', '://localhost:');
    await route.fulfill({ response, json: answer });
  });
  const patient = await open('/?name=patient&room=duel', /Failed to load resource.*429/, reroute);
  try {
    const [first, second] = await matchmade(patient, 1);
    if (first.status !== 429 || second.at - first.at < 900) throw new Error(`asked again ${second.at - first.at} ms after the 429`);
    if (!second.answer.url.startsWith('ws://localhost:')) throw new Error(`answer ${second.answer.url}`);
  } finally {
    await patient.close();
  }
});

// Replays: the room ROOM-replay, where bots played for a while and left.
const replayRoom = `${room}-replay`;
let replay = null;
await check(`the room ${replayRoom} closed and its replay is listed, long enough to play with`, async () => {
  const deadline = Date.now() + 90000;
  for (;;) {
    const doc = await (await fetch(`${base}/api/replays`)).json();
    const found = doc.replays.find((r) => r.room === replayRoom && !r.live);
    if (found) {
      const response = await fetch(`${base}/api/replays/${found.id}`);
      replay = await response.json();
      break;
    }
    if (Date.now() > deadline) throw new Error(`no finished replay of ${replayRoom}: ${JSON.stringify(doc)}`);
    await sleep(500);
  }
  if (replay.game !== 'shooter' || replay.room !== replayRoom || !(replay.ticks >= 300)) {
    throw new Error(`replay ${JSON.stringify(replay)}`);
  }
  console.log(`     replay ${replay.id}: ${replay.ticks} ticks`);
});
const replayId = replay ? replay.id : 'none';
const ticks = replay ? replay.ticks : 0;

// The tick `page` shows once it has not changed for `ms` (waits 10 s at most for that).
async function settled(page, ms) {
  const deadline = Date.now() + 10000;
  let last = await page.evaluate(() => window.arena.tick);
  let since = Date.now();
  while (Date.now() - since < ms) {
    if (Date.now() > deadline) throw new Error(`the tick kept changing for 10 s (now ${last})`);
    await sleep(100);
    const tick = await page.evaluate(() => window.arena.tick);
    if (tick !== last) [last, since] = [tick, Date.now()];
  }
  return last;
}
// Throws unless `page` still shows tick `tick` after `ms`.
async function holds(page, tick, ms) {
  await sleep(ms);
  const now = await page.evaluate(() => window.arena.tick);
  if (now !== tick) throw new Error(`tick ${tick} did not hold: ${now} after ${ms} ms`);
}
// Drags the seek slider to `tick` (the change when it is let go is what seeks).
const seekSlider = (page, tick) => page.$eval('#seek', (el, t) => {
  el.value = String(t);
  el.dispatchEvent(new Event('input'));
  el.dispatchEvent(new Event('change'));
}, tick);
// Seeks `page`, paused, to `tick`; waits until it shows it, and checks that it stays there.
async function seekPaused(page, tick) {
  await seekSlider(page, tick);
  await wait(page, (t) => window.arena.tick === t, tick);
  await holds(page, tick, 500);
}

const lobbyNow = await open('/');
await check('the lobby lists the replay, a link that plays it', async () => {
  const href = `/?replay=${encodeURIComponent(replayId)}`;
  await wait(lobbyNow, (h) => !document.getElementById('replays').hidden
    && [...document.querySelectorAll('#replay-list a')].some((a) => a.getAttribute('href') === h), href);
  await lobbyNow.screenshot({ path: `${out}/lobby.png` });
  await Promise.all([lobbyNow.waitForURL(`${base}${href}`), lobbyNow.click(`#replay-list a[href="${href}"]`)]);
});
const view = lobbyNow;
await check('the replay page plays it as a spectator stream: snapshots, ticks advancing, the bots drawn', async () => {
  await wait(view, (n) => window.arena.mode === 'replay' && window.arena.replay && window.arena.replay.ticks === n
    && window.arena.snapshots > 10, ticks);
  const room = await view.evaluate(() => window.arena.room);
  if (room !== `replay:${replayId}`) throw new Error(`room ${room}`);
  const tick = await view.evaluate(() => window.arena.tick);
  await wait(view, (t) => window.arena.tick >= t + 30, tick);
  await wait(view, (n) => window.arena.drawnPlayers >= n, bots);
  const a = await view.evaluate(() => ({ errors: window.arena.syncErrors, last: window.arena.lastSyncError }));
  if (a.errors) throw new Error(`${a.errors} snapshots did not apply: ${a.last}`);
});
await check('space pauses it: the tick stops and holds', async () => {
  await view.keyboard.press('Space');
  await wait(view, () => window.arena.replay.paused);
  const tick = await settled(view, 500);
  await holds(view, tick, 1500);
  const label = await view.evaluate(() => document.getElementById('pause').textContent);
  if (label !== 'Play') throw new Error(`the button says ${label}`);
});
const ahead = Math.floor(ticks / 2);
const back = Math.floor(ticks / 4);
await check(`the slider seeks, paused, to tick ${ahead}, then back to ${back}, and it holds there`, async () => {
  await seekPaused(view, ahead);
  const shown = await view.evaluate(() => document.getElementById('position').textContent);
  if (!shown.startsWith(`${ahead} / ${ticks}`)) throw new Error(`shows ${shown}`);
  await seekPaused(view, back);
  const a = await view.evaluate(() => ({ paused: window.arena.replay.paused, errors: window.arena.syncErrors }));
  if (!a.paused || a.errors) throw new Error(JSON.stringify(a));
});
await check(`a second viewer, seeking to tick ${back}, sees the same entities, and the page draws them`, async () => {
  const other = await open(`/?replay=${encodeURIComponent(replayId)}`);
  try {
    await wait(other, () => window.arena.snapshots > 0);
    await other.click('#pause');
    await wait(other, () => window.arena.replay.paused);
    await seekPaused(other, back);
    const [mine, theirs] = await Promise.all([view, other].map((p) => p.evaluate((t) => window.arena.viewAt(t), back)));
    if (!mine || !theirs || !mine.length) throw new Error(`views of tick ${back}: ${mine && mine.length}, ${theirs && theirs.length}`);
    if (canonical(mine) !== canonical(theirs)) throw new Error(`tick ${back}: ${canonical(mine)} vs ${canonical(theirs)}`);
    const players = mine.filter((e) => e.kind.Player).length;
    const drawn = await view.evaluate(() => window.arena.drawnPlayers);
    if (drawn !== players || players < bots) throw new Error(`${drawn} players drawn of ${players}`);
  } finally {
    await other.close();
  }
});
await view.screenshot({ path: `${out}/replay.png` });
// Ticks per second `page` shows playing from tick `from` at `speed` percent, over 2 s.
async function tickRate(page, speed, from) {
  await page.selectOption('#speed', String(speed));
  await wait(page, (s) => window.arena.replay.speed === s, speed);
  await seekPaused(page, from);
  await page.click('#pause');
  await wait(page, (t) => window.arena.tick > t + 2, from);
  const a = await page.evaluate(() => ({ tick: window.arena.tick, at: performance.now() }));
  await sleep(2000);
  const b = await page.evaluate(() => ({ tick: window.arena.tick, at: performance.now() }));
  await page.click('#pause');
  await wait(page, () => window.arena.replay.paused);
  return ((b.tick - a.tick) * 1000) / (b.at - a.at);
}
await check('4x speed shows ticks over twice as fast as 1x', async () => {
  const slow = await tickRate(view, 100, 30);
  const fast = await tickRate(view, 400, 30);
  console.log(`     ${slow.toFixed(1)} ticks/s at 1x, ${fast.toFixed(1)} at 4x`);
  if (!(slow > 15 && slow < 45)) throw new Error(`${slow.toFixed(1)} ticks/s at 1x of a 30 Hz room`);
  if (!(fast > 2 * slow)) throw new Error(`${fast.toFixed(1)} ticks/s at 4x, ${slow.toFixed(1)} at 1x`);
});
await check('at the end it holds the last tick and offers to restart', async () => {
  await seekPaused(view, ticks - 40);
  await view.keyboard.press('Space');
  await wait(view, (n) => window.arena.tick === n, ticks);
  await holds(view, ticks, 1000);
  const label = await view.evaluate(() => document.getElementById('pause').textContent);
  if (label !== 'Restart') throw new Error(`the button says ${label}`);
  const closed = await view.evaluate(() => window.arena.closed);
  if (closed) throw new Error(`closed ${JSON.stringify(closed)}`);
});
await check('an unknown replay is refused in the lobby with the server\'s reason', async () => {
  const missing = await open('/?replay=1-2-nothing', /Failed to load resource.*404/);
  await wait(missing, () => !document.getElementById('lobby-error').hidden);
  const text = await missing.evaluate(() => document.getElementById('lobby-error').textContent);
  if (!text.includes('no replay 1-2-nothing')) throw new Error(`says ${text}`);
  await missing.close();
});

await check('no script errors', async () => {
  if (errors.length) throw new Error(errors.join('; '));
});
await finish(browser, 'browser');
