// Arena's browser client: the arena.json.v1 subprotocol, a canvas, keyboard and mouse.
//
// It keeps a replica of what the server sends, as the bots do (arena_shared::sync::Replica):
// each snapshot is applied to the view it names as its baseline, and every input acknowledges
// the newest view held, so the server sends only what changed. Rendering runs one snapshot
// interval behind the newest snapshot and interpolates between the two around that time; each
// input says how far behind (`behind`), so the server judges its shots against what the player
// saw. `window.arena` exposes what the end-to-end test checks.
//
// It plays every game the server hosts that it has a renderer for (`GAMES` below): the engine's
// messages (Hello, Welcome, Snapshot, Ping, room events) are the same for all; each game brings
// its settings, its entities (and how they replicate), its events and its controls.
//
// To play (quick-play or a named room, from the lobby or a `/?name=ann&room=duel` link) it asks
// the matchmaker first (POST /api/matchmake), then connects where that sends it (in a fleet,
// maybe another process than the page's) with the ticket that holds its seat; a refusal shows the
// server's reason in the lobby. Spectating and replays connect to the page's own server.
//
// It watches recorded games too (`/?replay=ID`): the server plays the replay as a spectator
// stream of its own for this page, which steers it with `Playback` messages (pause, speed,
// seek) from a control bar; the lobby lists the newest replays (GET /api/replays).
'use strict';

// Must equal arena_shared::PROTOCOL_VERSION (a server unit test holds them together).
const PROTOCOL_VERSION = 5;
const SUBPROTOCOL = 'arena.json.v1';
const params = new URLSearchParams(location.search);

const arena = {
  mode: null, // 'play' | 'spectate' | 'replay'
  game: 'shooter',
  connected: false,
  me: null,
  room: null,
  tickRate: 30,
  snapshotRate: 30,
  view: null,
  settings: null,
  size: null, // [width, height] of the playing area, world units
  names: new Map(),
  scores: new Map(),
  snapshots: 0, // applied
  deltas: 0, // of those, applied to a baseline (the rest were complete)
  syncErrors: 0, // snapshots that did not apply (each falls back to a complete one)
  lastSyncError: null,
  bytes: 0, // UTF-8 bytes of every message received
  tick: 0,
  rttMs: null,
  ownPos: null,
  inputs: 0,
  lastInput: null, // { ack, behind } of the newest Input sent
  behinds: [], // `behind` of the last inputs sent with an ack, newest last
  hits: [], // our own hits: { victim, at, health, victimPos (at that tick), marker: [x, y] }
  markers: [], // hit markers drawn: { x, y, until }, world units
  drawnPlayers: 0,
  drawnProjectiles: 0,
  drawnTrails: 0,
  lastError: null,
  closed: null,
  // Playing: the matchmaker's answer, { url, ticket, room, server, game, reserved_ms }.
  match: null,
  // Watching a replay: { id, game, room, ticks (its length), paused, speed (percent of real
  // time), sent (Playback messages sent), jumps (seeks seen in the snapshots) }; else null.
  replay: null,
  // The views held, [{ tick, ents: [entity...] }] oldest first, and the one of `tick` or null.
  views: () => replica.views.map((v) => ({ tick: v.tick, ents: [...v.ents.values()] })),
  viewAt: (tick) => {
    const v = replica.get(tick);
    return v ? [...v.values()] : null;
  },
  // Forgets every view as a gap would, while the server still encodes against the last ack.
  dropViews: () => { replica.views.length = 0; },
  // Where entity `id` is drawn now, in CSS pixels of the canvas; null when not drawn.
  screenOf: (id) => {
    if (!cur || !cur.ents.has(id)) return null;
    const dpr = window.devicePixelRatio || 1;
    const [x, y] = toScreen(...positionOf(id, performance.now()));
    return { x: x / dpr, y: y / dpr };
  },
};
window.arena = arena;

// Bounds on what the page keeps however long it runs.
const MAX_BEHINDS = 256;
const MAX_HITS = 16;
// Replays listed in the lobby, newest first.
const REPLAYS_LISTED = 10;
// How far the arrow keys seek in a replay, seconds.
const SEEK_STEP_S = 5;
// Longest a refused matchmake waits on its Retry-After before its one more try, seconds.
const MAX_RETRY_AFTER_S = 30;

let ws = null;
let seq = 0;
let prev = null; // { at, tick, ents: Map }: the two newest views applied, for interpolation
let cur = null;
const keys = new Set();
const mouse = { x: 0, y: 0, down: false };
let camera = { x: 0, y: 0, scale: 1 };
const feed = []; // recent kill and chat lines: { text, until }
const utf8 = new TextEncoder();

const $ = (id) => document.getElementById(id);
const canvas = $('canvas');
const ctx = canvas.getContext('2d');

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function status(text) {
  const el = $('status');
  el.textContent = text;
  el.style.display = text ? 'block' : 'none';
}

function nameOf(id) {
  return arena.names.get(id) || `#${id}`;
}

// The shooter: move with WASD, aim with the mouse, fire with a click or space.
const shooter = {
  size: (settings) => settings.map.size,
  player: (e) => e.kind.Player,
  // As declared by replicate! in shared/src/shooter/entity.rs.
  replicated: {
    fields: [['pos', 'position'], ['vel', 'velocity']],
    kinds: [['Player', ['aim', 'health', 'score', 'deaths', 'alive']], ['Projectile', []]],
  },
  score: (p) => ({ score: p.score, deaths: p.deaths }),
  controls(own) {
    let dx = 0;
    let dy = 0;
    if (keys.has('a') || keys.has('arrowleft')) dx -= 1;
    if (keys.has('d') || keys.has('arrowright')) dx += 1;
    if (keys.has('w') || keys.has('arrowup')) dy -= 1;
    if (keys.has('s') || keys.has('arrowdown')) dy += 1;
    const len = Math.hypot(dx, dy) || 1;
    let aim = [0, 0];
    if (own) {
      const [sx, sy] = toScreen(own.pos[0], own.pos[1]);
      aim = [mouse.x - sx, mouse.y - sy];
    }
    return { move_dir: [dx / len, dy / len], aim, fire: mouse.down || keys.has(' ') };
  },
  event(ev, ents, now) {
    if (ev.Hit && ev.Hit.shooter === arena.me) {
      // Marked where the victim was as our player saw it (the server judged the shot against
      // that picture), not where it is now: a hit lands where it was aimed.
      const { victim, at, health } = ev.Hit;
      const marker = { x: at[0], y: at[1], until: now + 600 };
      arena.markers.push(marker);
      while (arena.markers.length > MAX_HITS) arena.markers.shift();
      const v = ents.get(victim);
      arena.hits.push({ victim, at, health, victimPos: v ? v.pos : null, marker: [marker.x, marker.y] });
      while (arena.hits.length > MAX_HITS) arena.hits.shift();
    }
    if (!ev.Killed) return;
    const { killer, victim } = ev.Killed;
    // Players in view carry their own scores; keep the board right for the rest.
    if (!ents.has(killer)) {
      const k = arena.scores.get(killer) || { score: 0, deaths: 0 };
      arena.scores.set(killer, { ...k, score: k.score + 1 });
    }
    if (!ents.has(victim)) {
      const v = arena.scores.get(victim) || { score: 0, deaths: 0 };
      arena.scores.set(victim, { ...v, deaths: v.deaths + 1 });
    }
    feed.push({ text: `${nameOf(killer)} got ${nameOf(victim)}`, until: now + 5000 });
  },
  draw(now) {
    const s = camera.scale;
    ctx.fillStyle = '#4c566a';
    for (const wall of arena.settings.map.walls) {
      const [x, y] = toScreen(wall.min[0], wall.min[1]);
      ctx.fillRect(x, y, (wall.max[0] - wall.min[0]) * s, (wall.max[1] - wall.min[1]) * s);
    }
    const radius = arena.settings.rules.player_radius * s;
    let players = 0;
    let projectiles = 0;
    for (const [id, e] of cur.ents) {
      const [x, y] = toScreen(...positionOf(id, now));
      if (e.kind.Projectile) {
        projectiles += 1;
        ctx.fillStyle = e.kind.Projectile.owner === arena.me ? '#ebcb8b' : '#d08770';
        ctx.beginPath();
        ctx.arc(x, y, Math.max(2, 4 * s), 0, Math.PI * 2);
        ctx.fill();
        continue;
      }
      const p = e.kind.Player;
      players += 1;
      ctx.globalAlpha = p.alive ? 1 : 0.3;
      ctx.fillStyle = id === arena.me ? '#a3be8c' : '#81a1c1';
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, Math.PI * 2);
      ctx.fill();
      const angle = (p.aim / 65536) * Math.PI * 2;
      ctx.strokeStyle = '#eceff4';
      ctx.lineWidth = Math.max(1, 3 * s);
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + Math.cos(angle) * radius * 1.6, y + Math.sin(angle) * radius * 1.6);
      ctx.stroke();
      ctx.fillStyle = '#bf616a';
      ctx.fillRect(x - radius, y - radius - 8, 2 * radius * (p.health / 100), 4);
      label(id, x, y - radius - 12);
      ctx.globalAlpha = 1;
    }
    arena.drawnPlayers = players;
    arena.drawnProjectiles = projectiles;
    const markers = arena.markers;
    while (markers.length && markers[0].until <= now) markers.shift();
    ctx.strokeStyle = '#ebcb8b';
    ctx.lineWidth = Math.max(1.5, 3 * s);
    const arm = Math.max(5, 10 * s);
    for (const m of markers) {
      const [x, y] = toScreen(m.x, m.y);
      ctx.beginPath();
      ctx.moveTo(x - arm, y - arm);
      ctx.lineTo(x + arm, y + arm);
      ctx.moveTo(x - arm, y + arm);
      ctx.lineTo(x + arm, y - arm);
      ctx.stroke();
    }
  },
};

// Tron: light cycles on a grid; arrows or WASD pick the heading (a reversal is ignored).
const HEADINGS = { arrowup: 'North', w: 'North', arrowright: 'East', d: 'East', arrowdown: 'South', s: 'South', arrowleft: 'West', a: 'West' };
const COLOURS = ['#88c0d0', '#bf616a', '#ebcb8b', '#b48ead', '#d08770', '#8fbcbb', '#5e81ac', '#a3be8c'];
const tron = {
  size: (settings) => [settings.width * settings.cell, settings.height * settings.cell],
  player: (e) => e.kind.Cycle,
  // As declared by replicate! in shared/src/tron/entity.rs.
  replicated: {
    fields: [['pos', 'position']],
    kinds: [['Cycle', ['heading', 'alive', 'score', 'phase']], ['Trail', []]],
  },
  score: (c) => ({ score: c.score, deaths: 0 }),
  controls() {
    // The newest key held wins; with none held the cycle keeps going.
    const held = [...keys].reverse().find((k) => HEADINGS[k]);
    return { heading: held ? HEADINGS[held] : 'Keep' };
  },
  event(ev, ents, now) {
    if (ev.Crashed) {
      const { player, into } = ev.Crashed;
      // Cycles in view carry their own scores; keep the board right for the rest.
      if (into !== null && into !== player && !ents.has(into)) {
        const k = arena.scores.get(into) || { score: 0, deaths: 0 };
        arena.scores.set(into, { ...k, score: k.score + 1 });
      }
      const why = into === null ? 'the wall' : into === player ? 'their own trail' : nameOf(into);
      feed.push({ text: `${nameOf(player)} crashed into ${why}`, until: now + 5000 });
    }
  },
  draw(now) {
    const cell = arena.settings.cell * camera.scale;
    let cycles = 0;
    let trails = 0;
    for (const [id, e] of cur.ents) {
      const owner = e.kind.Trail ? e.kind.Trail.owner : id;
      ctx.fillStyle = owner === arena.me ? '#a3be8c' : COLOURS[owner % COLOURS.length];
      if (e.kind.Trail) {
        trails += 1;
        ctx.globalAlpha = 0.55;
        const [x, y] = toScreen(e.pos[0], e.pos[1]);
        ctx.fillRect(x - cell / 2, y - cell / 2, cell, cell);
        ctx.globalAlpha = 1;
        continue;
      }
      const c = e.kind.Cycle;
      cycles += 1;
      ctx.globalAlpha = c.alive ? 1 : 0.25;
      const [x, y] = toScreen(...positionOf(id, now));
      ctx.fillRect(x - cell * 0.6, y - cell * 0.6, cell * 1.2, cell * 1.2);
      label(id, x, y - cell);
      ctx.globalAlpha = 1;
    }
    arena.drawnPlayers = cycles;
    arena.drawnTrails = trails;
  },
};

const GAMES = { shooter, tron };

// How a delta carries each kind of field (the FieldCodecs of shared/src/game.rs): a position
// or a velocity as the change in wire steps of 1/8 unit (shared/src/quant.rs), anything else as
// its new value. Snapshots carry positions and velocities already at wire precision, so the
// step conversions below are exact (positions round, velocities truncate, as the server does;
// `| 0` wraps like its i32 arithmetic).
const WIRE_STEPS = 8;
const CODECS = {
  exact: (_, value) => value,
  position: (old, d) => [0, 1].map((i) => ((Math.round(old[i] * WIRE_STEPS) + d[i]) | 0) / WIRE_STEPS),
  velocity: (old, d) => [0, 1].map((i) => ((Math.trunc(old[i] * WIRE_STEPS) + d[i]) | 0) / WIRE_STEPS),
};

// Entity `e` with delta `d` (`[id, mask, fields...]`, one mask bit per declared field in
// declaration order: the common ones, then each kind's) applied; null when it does not fit: an
// unknown bit, a field count the mask does not match, or a field of another kind.
function patch(e, d, spec) {
  const mask = d[1];
  const count = spec.fields.length + spec.kinds.reduce((n, [, names]) => n + names.length, 0);
  if (!Number.isInteger(mask) || mask < 0 || mask >= 2 ** count) return null;
  let present = 0;
  for (let m = mask; m > 0; m = Math.floor(m / 2)) present += m % 2;
  if (d.length !== 2 + present) return null;
  const out = { ...e };
  let bit = 1;
  let at = 2;
  for (const [name, codec] of spec.fields) {
    if (mask & bit) out[name] = CODECS[codec](e[name], d[at++]);
    bit *= 2;
  }
  const [own] = Object.keys(e.kind);
  for (const [kind, names] of spec.kinds) {
    for (const name of names) {
      if (mask & bit) {
        if (kind !== own) return null;
        // A copy: the view this one came from stays a baseline the server may name.
        if (out.kind === e.kind) out.kind = { [own]: { ...e.kind[own] } };
        out.kind[own][name] = d[at++];
      }
      bit *= 2;
    }
  }
  return out;
}

function ascending(items, id) {
  for (let i = 1; i < items.length; i += 1) if (!(id(items[i - 1]) < id(items[i]))) return false;
  return true;
}

// What the page holds of the world, as arena_shared::sync::Replica holds it: the views of the
// last few ticks, each a Map in ascending id order. The server encodes each snapshot against the
// view the page last acknowledged, so the page keeps every view from the newest snapshot's
// baseline on (usually two or three), and never more than HISTORY_LEN (about a second at 30
// snapshots/s; the server keeps as many, and sends a complete snapshot past that).
const HISTORY_LEN = 32;
const replica = {
  views: [], // { tick, ents }, oldest first

  // The tick to acknowledge: the newest view held, 0 for none (asks for a complete snapshot).
  ack() {
    return this.views.length ? this.views[this.views.length - 1].tick : 0;
  },

  get(tick) {
    const v = this.views.find((w) => w.tick === tick);
    return v ? v.ents : null;
  },

  // The view snapshot `s` describes, now the newest held. Throws when it does not apply, and
  // then forgets everything: the next inputs acknowledge nothing, so the server's next
  // snapshot is complete, and the page draws the last good view until it comes.
  apply(s, spec) {
    try {
      const ents = this.rebuild(s, spec);
      if (this.views.length === HISTORY_LEN) this.views.shift();
      this.views.push({ tick: s.tick, ents });
      // Once the server has a view acknowledged, it never encodes against an older one.
      while (this.views[0].tick < s.baseline) this.views.shift();
      return ents;
    } catch (err) {
      this.views.length = 0;
      throw err;
    }
  },

  // arena_shared::sync::apply: the baseline with removals, changes and creations merged in id
  // order; anything that does not fit is an error, never a guess.
  rebuild(s, spec) {
    const newest = this.ack();
    if (newest && s.tick <= newest) throw new Error(`snapshot ${s.tick} is not newer than ${newest}`);
    const base = s.baseline === 0 ? new Map() : this.get(s.baseline);
    if (!base) throw new Error(`snapshot ${s.tick} is a delta against tick ${s.baseline}, which this page does not hold`);
    const { created, changed, removed } = s;
    if (!ascending(created, (e) => e.id) || !ascending(changed, (d) => d[0]) || !ascending(removed, (r) => r)) {
      throw new Error('entity lists are not sorted by id');
    }
    const mismatch = (id) => new Error(`entity ${id} does not fit the baseline`);
    const out = new Map();
    let [c, r, n] = [0, 0, 0];
    for (const [id, e] of base) {
      if (removed[r] === id) {
        r += 1;
        continue;
      }
      let kept = e;
      if (c < changed.length && changed[c][0] === id) {
        kept = patch(e, changed[c], spec);
        if (!kept) throw mismatch(id);
        c += 1;
      } else if (c < changed.length && changed[c][0] < id) {
        throw mismatch(changed[c][0]);
      }
      for (; n < created.length && created[n].id < id; n += 1) out.set(created[n].id, created[n]);
      if (n < created.length && created[n].id === id) throw mismatch(id);
      out.set(id, kept);
    }
    if (c < changed.length) throw mismatch(changed[c][0]);
    if (r < removed.length) throw mismatch(removed[r]);
    for (; n < created.length; n += 1) out.set(created[n].id, created[n]);
    return out;
  },
};

function label(id, x, y) {
  ctx.fillStyle = '#d8dee9';
  ctx.font = `${Math.max(10, Math.round(12 * camera.scale))}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.fillText(nameOf(id), x, y);
}

// The game to play or watch: the one asked for; else, to watch, the room's (GET /api/rooms);
// else the server's default (GET /api/games).
async function resolveGame(mode, room, game) {
  if (game && Object.hasOwn(GAMES, game)) return game;
  try {
    if (mode === 'spectate') {
      const rooms = await (await fetch('/api/rooms')).json();
      const found = rooms.find((r) => r.name === room);
      if (found && Object.hasOwn(GAMES, found.game)) return found.game;
    }
    const doc = await (await fetch('/api/games')).json();
    const fallback = doc.games.find((g) => g.default);
    if (fallback && Object.hasOwn(GAMES, fallback.name)) return fallback.name;
  } catch (err) {
    arena.lastError = `cannot find the game: ${err}`;
  }
  return 'shooter';
}

// Playing goes through the matchmaker of this page's origin (POST /api/matchmake): it holds a
// seat and answers where it is (`url`: in a fleet, maybe another process than this one) and the
// ticket that claims it. A 429 is asked once more after its Retry-After; any other refusal
// throws the server's reason.
async function matchmake(name, room, game) {
  const body = JSON.stringify({ name, room: room || null, game });
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch('/api/matchmake', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const text = await response.text();
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = null;
    }
    if (response.ok && answer && answer.url && answer.ticket) return answer;
    if (response.status === 429 && attempt === 1) {
      const after = Number(response.headers.get('Retry-After'));
      const seconds = Number.isFinite(after) && after >= 0 ? Math.min(after, MAX_RETRY_AFTER_S) : 1;
      await new Promise((done) => { setTimeout(done, seconds * 1000); });
      continue;
    }
    throw new Error((answer && answer.error) || `${response.status} ${text}`);
  }
}

let joining = false; // a start is under way or done: the lobby starts no second one

async function start(mode, name, room, game) {
  if (joining) return;
  joining = true;
  arena.game = await resolveGame(mode, room, game);
  if (mode === 'play') {
    try {
      arena.match = await matchmake(name, room, arena.game);
    } catch (err) {
      // Refused: the lobby stays, says why, and holds what was asked for another try.
      joining = false;
      $('name').value = name;
      $('room').value = room || '';
      lobbyError(`cannot play: ${err.message}`);
      return;
    }
  }
  arena.mode = mode;
  $('lobby').style.display = 'none';
  $('game').style.display = 'block';
  resize();
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  let query = '';
  if (mode === 'spectate') query = `?spectate=${encodeURIComponent(room)}`;
  if (mode === 'replay') query = `?replay=${encodeURIComponent(arena.replay.id)}`;
  // A player connects where the matchmaker sent it; a spectator or a replay to this origin.
  const url = mode === 'play' ? arena.match.url : `${scheme}${location.host}/ws/${arena.game}${query}`;
  ws = new WebSocket(url, [SUBPROTOCOL]);
  ws.onopen = () => {
    arena.connected = true;
    if (mode === 'play') {
      // The ticket names the player and the room; a Hello with a ticket sets no room options.
      const { room: seat, ticket } = arena.match;
      send({ Hello: { protocol_version: PROTOCOL_VERSION, name, room: seat, ticket, resume: null, options: null } });
    }
  };
  ws.onmessage = (e) => {
    arena.bytes += utf8.encode(e.data).length;
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch (err) {
      arena.lastError = `bad message: ${err}`;
      return;
    }
    handle(msg);
  };
  ws.onclose = (e) => {
    arena.connected = false;
    arena.closed = { code: e.code, reason: e.reason };
    status(`disconnected: ${e.code} ${e.reason || ''}`);
  };
  setInterval(() => send({ Ping: { client_time: Math.round(performance.now() * 1000) } }), 1000);
  requestAnimationFrame(frame);
}

function handle(msg) {
  if (msg.Welcome) {
    const w = msg.Welcome;
    Object.assign(arena, {
      me: w.player_id, room: w.room, tickRate: w.tick_rate, snapshotRate: w.snapshot_rate,
      view: w.view, settings: w.settings, size: GAMES[arena.game].size(w.settings),
    });
    for (const [id, name] of w.players) arena.names.set(id, name);
  } else if (msg.Spectating) {
    const s = msg.Spectating;
    Object.assign(arena, {
      room: s.room, tickRate: s.tick_rate, snapshotRate: s.snapshot_rate, view: null,
      settings: s.settings, size: GAMES[arena.game].size(s.settings),
    });
    for (const [id, name] of s.players) arena.names.set(id, name);
  } else if (msg.Snapshot) {
    onSnapshot(msg.Snapshot);
  } else if (msg.Pong) {
    arena.rttMs = (performance.now() * 1000 - msg.Pong.client_time) / 1000;
  } else if (msg.Error) {
    arena.lastError = `${msg.Error.code}: ${msg.Error.message}`;
    status(arena.lastError);
  }
}

function onSnapshot(s) {
  const game = GAMES[arena.game];
  // A replay's seek shows up as a snapshot behind the newest held (or well ahead of it): the
  // page starts over from it, as from a first snapshot (a spectator's are all complete).
  const jump = arena.mode === 'replay' && replica.ack() !== 0
    && (s.tick <= replica.ack() || s.tick > replica.ack() + arena.tickRate);
  if (jump) {
    replica.views.length = 0;
    arena.scores.clear();
    arena.markers.length = 0;
    feed.length = 0;
    arena.replay.jumps += 1;
  }
  let ents;
  try {
    ents = replica.apply(s, game.replicated);
  } catch (err) {
    arena.syncErrors += 1;
    arena.lastSyncError = err.message;
  }
  // Events hold whether or not the entities applied; they are told against the newest view.
  const view = ents || (cur ? cur.ents : new Map());
  for (const [, ev] of s.events) onEvent(ev, view);
  if (ents) {
    for (const [id, e] of ents) {
      const p = game.player(e);
      if (p) arena.scores.set(id, game.score(p));
    }
    prev = jump ? null : cur;
    cur = { at: performance.now(), tick: s.tick, ents };
    arena.snapshots += 1;
    if (s.baseline !== 0) arena.deltas += 1;
    arena.tick = s.tick;
  }
  const own = arena.me !== null ? view.get(arena.me) : null;
  arena.ownPos = own ? { x: own.pos[0], y: own.pos[1] } : null;
  // One input per tick until the next snapshot: gaps vary when the snapshot rate does not
  // divide the tick rate (20 Hz at 30 Hz: one tick, then two). Sent after a snapshot that did
  // not apply too: their ack of 0 is what brings the complete snapshot.
  if (arena.mode === 'play') sendInputs(s.queued_inputs, own, ticksToNextSnapshot(s.tick));
}

// arena_shared::schedule: snapshot_rate of every tick_rate ticks, as evenly as whole ticks allow.
function snapshotDue(tick) {
  const t = arena.tickRate, r = arena.snapshotRate;
  if (r >= t) return true;
  return Math.floor((tick * r) / t) > Math.floor(((tick - 1) * r) / t);
}

function ticksToNextSnapshot(tick) {
  for (let k = 1; k <= 8; k += 1) if (snapshotDue(tick + k)) return k;
  return 1;
}

function onEvent(ev, ents) {
  const now = performance.now();
  if (ev.Joined) arena.names.set(ev.Joined.player, ev.Joined.name);
  if (ev.Left) {
    arena.scores.delete(ev.Left.player);
  }
  if (ev.Game) GAMES[arena.game].event(ev.Game, ents, now);
  if (ev.Chat) feed.push({ text: `${nameOf(ev.Chat.from)}: ${ev.Chat.text}`, until: now + 8000 });
  while (feed.length > 6) feed.shift();
}

// One input per tick: `per` ticks until the next snapshot ask for `per`, fewer by what waits.
// Each acknowledges the newest view held and says how far behind it the others are drawn now,
// in 1/64 ticks, so the server judges these controls against the picture they were chosen on.
function sendInputs(queued, own, per) {
  const controls = GAMES[arena.game].controls(own);
  const ack = replica.ack();
  const behind = ack ? Math.min(65535, Math.max(0, Math.round((ack - shownTick(performance.now())) * 64))) : 0;
  const count = Math.max(0, per - queued);
  for (let i = 0; i < count; i += 1) {
    seq += 1;
    send({ Input: { seq, ack, behind, controls } });
  }
  if (count === 0) return;
  arena.inputs += count;
  arena.lastInput = { ack, behind };
  if (ack) {
    arena.behinds.push(behind);
    if (arena.behinds.length > MAX_BEHINDS) arena.behinds.shift();
  }
}

function resize() {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvas.clientWidth * dpr);
  canvas.height = Math.round(canvas.clientHeight * dpr);
}

function toScreen(x, y) {
  return [(x - camera.x) * camera.scale, (y - camera.y) * camera.scale];
}

// How far from `prev` to `cur` the picture drawn at `now` is (0..1): rendering runs one
// snapshot interval in the past, so a snapshot on time starts near 0 and reaches 1 as the next
// one is due.
function blend(now) {
  if (!prev || cur.at === prev.at) return 1;
  const interval = snapshotInterval();
  return Math.min(1, Math.max(0, (now - interval - prev.at) / (cur.at - prev.at)));
}

// Milliseconds between snapshots: a replay's come faster or slower by its speed.
function snapshotInterval() {
  const speed = arena.replay ? arena.replay.speed / 100 : 1;
  return 1000 / (arena.snapshotRate * speed);
}

// The tick the others are drawn at, `now`: fractional, between prev's and cur's.
function shownTick(now) {
  if (!cur) return 0;
  return prev ? prev.tick + (cur.tick - prev.tick) * blend(now) : cur.tick;
}

// The interpolated position of entity `id`, rendering one snapshot interval in the past.
function positionOf(id, now) {
  const b = cur.ents.get(id);
  const a = prev && prev.ents.get(id);
  if (!a) return b.pos;
  const t = blend(now);
  return [a.pos[0] + (b.pos[0] - a.pos[0]) * t, a.pos[1] + (b.pos[1] - a.pos[1]) * t];
}

function placeCamera(now) {
  const size = arena.size;
  const dpr = window.devicePixelRatio || 1;
  let [w, h] = size;
  let [x, y] = [0, 0];
  if (arena.view && arena.me !== null && cur && cur.ents.has(arena.me)) {
    [w, h] = [Math.min(arena.view[0], size[0]), Math.min(arena.view[1], size[1])];
    const [px, py] = positionOf(arena.me, now);
    x = Math.min(Math.max(px - w / 2, 0), size[0] - w);
    y = Math.min(Math.max(py - h / 2, 0), size[1] - h);
  }
  const scale = Math.min(canvas.width / w, canvas.height / h);
  camera = { x: x - (canvas.width / scale - w) / 2, y: y - (canvas.height / scale - h) / 2, scale };
  return dpr;
}

function frame() {
  requestAnimationFrame(frame);
  const now = performance.now();
  ctx.fillStyle = '#11151c';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!arena.size || !cur) return;
  placeCamera(now);
  const s = camera.scale;
  const [ox, oy] = toScreen(0, 0);
  ctx.fillStyle = '#1b2230';
  ctx.fillRect(ox, oy, arena.size[0] * s, arena.size[1] * s);
  GAMES[arena.game].draw(now);
  ctx.textAlign = 'left';
  ctx.font = '13px system-ui, sans-serif';
  ctx.fillStyle = '#eceff4';
  feed.filter((f) => f.until > now).forEach((f, i) => ctx.fillText(f.text, 12, canvas.height - 14 - i * 17));
  hud();
}

function hud() {
  const ping = arena.rttMs === null ? '-' : `${arena.rttMs.toFixed(1)} ms`;
  const doing = { play: 'playing', spectate: 'spectating', replay: 'replay of' }[arena.mode];
  const where = arena.mode === 'replay' ? `${arena.replay.room} (${arena.replay.id})` : arena.room || '';
  $('hud').textContent = [
    `${doing} ${where}`,
    `tick ${arena.tick}   ping ${ping}`,
    `players ${arena.names.size}   in view ${arena.drawnPlayers}`,
  ].join('\n');
  const rows = [...arena.scores.entries()]
    .filter(([id]) => arena.names.has(id))
    .sort((a, b) => b[1].score - a[1].score || a[1].deaths - b[1].deaths)
    .slice(0, 12)
    .map(([id, s]) => `${(id === arena.me ? '> ' : '  ') + nameOf(id).padEnd(16)} ${String(s.score).padStart(3)} ${String(s.deaths).padStart(3)}`);
  $('board').textContent = ['  name              K   D', ...rows].join('\n');
  if (arena.mode === 'replay') playbackBar();
}

// Watching a replay: GET /api/replays/ID says its game and length (or why not), then the
// page watches it as a spectator stream of its own and steers it from the control bar.
async function watchReplay(id) {
  let info = null;
  try {
    const response = await fetch(`/api/replays/${encodeURIComponent(id)}`);
    const text = await response.text();
    try {
      info = JSON.parse(text);
    } catch {
      info = null;
    }
    if (!response.ok || !info) throw new Error((info && info.error) || `${response.status} ${text}`);
  } catch (err) {
    lobbyError(`cannot watch replay ${id}: ${err.message}`);
    return;
  }
  if (!Object.hasOwn(GAMES, info.game)) {
    lobbyError(`replay ${id} is of ${info.game}, which this page cannot draw`);
    return;
  }
  arena.replay = { id, game: info.game, room: info.room, ticks: info.ticks, paused: false, speed: 100, sent: 0, jumps: 0 };
  document.body.classList.add('replay');
  $('playback').style.display = 'flex';
  $('seek').max = info.ticks;
  await start('replay', '', null, info.game);
}

function lobbyError(text) {
  arena.lastError = text;
  const el = $('lobby-error');
  el.textContent = text;
  el.hidden = false;
}

// Sends the whole playback state (the server takes nothing less), after `change`, with a seek
// to tick `seek` unless null.
function steer(change, seek = null) {
  const r = arena.replay;
  Object.assign(r, change);
  send({ Playback: { paused: r.paused, speed_percent: r.speed, seek } });
  r.sent += 1;
}

function seekTo(tick) {
  steer({}, Math.max(0, Math.min(arena.replay.ticks, Math.round(tick))));
}

// Play or pause; at the end, play again from the start.
function togglePause() {
  if (arena.tick >= arena.replay.ticks) steer({ paused: false }, 0);
  else steer({ paused: !arena.replay.paused });
}

let dragging = false; // the seek slider is held: it shows where it will go, not the tick

function playbackBar() {
  const r = arena.replay;
  const ended = arena.tick >= r.ticks;
  const label = ended ? 'Restart' : r.paused ? 'Play' : 'Pause';
  if ($('pause').textContent !== label) $('pause').textContent = label;
  const seek = $('seek');
  if (!dragging) seek.value = arena.tick;
  const at = Number(seek.value);
  const clock = (tick) => {
    const s = Math.floor(tick / arena.tickRate);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const text = `${at} / ${r.ticks}  ${clock(at)} / ${clock(r.ticks)}`;
  if ($('position').textContent !== text) $('position').textContent = text;
}

// Space pauses or plays, the arrows seek; a control with the focus keeps its own keys.
function replayKey(e) {
  if (e.target instanceof HTMLButtonElement || e.target instanceof HTMLInputElement
    || e.target instanceof HTMLSelectElement) return;
  const step = SEEK_STEP_S * arena.tickRate;
  if (e.key === ' ') {
    if (!e.repeat) togglePause();
  } else if (e.key === 'ArrowLeft') {
    seekTo(arena.tick - step);
  } else if (e.key === 'ArrowRight') {
    seekTo(arena.tick + step);
  } else {
    return;
  }
  e.preventDefault();
}

window.addEventListener('resize', resize);
window.addEventListener('keydown', (e) => {
  if (arena.mode === 'replay') {
    replayKey(e);
    return;
  }
  keys.add(e.key.toLowerCase());
  if (e.key === ' ') e.preventDefault();
});
window.addEventListener('keyup', (e) => keys.delete(e.key.toLowerCase()));
window.addEventListener('blur', () => keys.clear());
canvas.addEventListener('mousemove', (e) => {
  const dpr = window.devicePixelRatio || 1;
  mouse.x = e.offsetX * dpr;
  mouse.y = e.offsetY * dpr;
});
canvas.addEventListener('mousedown', () => { mouse.down = true; });
window.addEventListener('mouseup', () => { mouse.down = false; });

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  start('play', $('name').value.trim(), $('room').value.trim(), $('game-choice').value);
});
$('watch').addEventListener('click', () => {
  const room = $('room').value.trim();
  if (room) start('spectate', '', room, $('game-choice').value);
});
// The replay's controls hand the keys back once used, so space pauses again.
$('pause').addEventListener('click', (e) => {
  togglePause();
  e.currentTarget.blur();
});
$('speed').addEventListener('change', (e) => {
  steer({ speed: Number(e.currentTarget.value) });
  e.currentTarget.blur();
});
$('seek').addEventListener('input', () => { dragging = true; });
$('seek').addEventListener('change', (e) => {
  dragging = false;
  seekTo(Number(e.currentTarget.value));
  e.currentTarget.blur();
});

// The games this server hosts that this page can draw (GET /api/games).
fetch('/api/games')
  .then((r) => r.json())
  .then((doc) => {
    const select = $('game-choice');
    for (const g of doc.games.filter((g) => GAMES[g.name])) {
      const option = document.createElement('option');
      option.value = g.name;
      option.textContent = `${g.name}: ${g.description}`;
      option.selected = g.default;
      select.appendChild(option);
    }
  })
  .catch((err) => { arena.lastError = `cannot list games: ${err}`; });

// The newest replays this server keeps (GET /api/replays) of games this page can draw, each a
// link that watches it; the section stays hidden when there are none.
fetch('/api/replays')
  .then((r) => r.json())
  .then((doc) => {
    const list = $('replay-list');
    for (const r of doc.replays.filter((x) => GAMES[x.game]).slice(0, REPLAYS_LISTED)) {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = `/?replay=${encodeURIComponent(r.id)}`;
      link.textContent = `${r.room} (${r.game})`;
      const when = new Date(r.started_unix_s * 1000).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
      item.append(link, ` ${when}${r.live ? ', recording' : ''}`);
      list.appendChild(item);
    }
    $('replays').hidden = list.children.length === 0;
  })
  .catch((err) => { arena.lastError = `cannot list replays: ${err}`; });

// Links: /?spectate=ROOM watches; /?name=NAME[&room=ROOM] joins at once; &game=GAME picks one;
// /?replay=ID plays a recorded game.
if (params.has('replay')) {
  watchReplay(params.get('replay'));
} else if (params.has('spectate')) {
  start('spectate', '', params.get('spectate'), params.get('game'));
} else if (params.has('name')) {
  start('play', params.get('name'), params.get('room') || '', params.get('game'));
}
