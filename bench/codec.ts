/**
 * Which codec should the Redis tier use to turn cached values into strings? `npx tsx bench/codec.ts`
 *
 * Compares, in one process, loaderkit's lk1 codec (src/cache/remote/codec.ts: it exports only the
 * entry-level encodeEntry/decodeEntry, so those are measured with a fixed envelope — key, generation
 * and lifetimes — whose bytes are included in its size), JSON, msgpackr (default `Packr` and
 * `structuredClone: true`), devalue and v8.serialize. The binary codecs are measured three ways: the
 * raw Buffer (not allowed by the contract, for reference), a latin1 string and a base64 string (what
 * would go to Redis). Sizes are UTF-8 bytes of the string a client sends (a latin1 string of bytes
 * >= 0x80 takes 2 UTF-8 bytes per such byte).
 *
 * Method: warm-up that also calibrates each measurement to about {@link SAMPLE_MS} ms, then
 * {@link ROUNDS} interleaved rounds (each codec once per round, order rotating), median per cell.
 * After the tables, a child process runs the safety probes (prototype pollution, exotic objects from
 * crafted input, buffer aliasing), and one child per codec fuzzes decoding (truncation, trailing junk,
 * one-byte corruption, garbage) so that a crash or hang is observed rather than fatal.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { inspect, isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import * as devalue from 'devalue';
import { Packr, unpack } from 'msgpackr';
import { decodeEntry, encodeEntry } from '../src/cache/remote/codec.js';

const ROUNDS = 15;
const SAMPLE_MS = 7;

// ---------------------------------------------------------------------------------------------------
// Payloads

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function userRow(i: number) {
  return {
    id: 1000 + i,
    name: `User Number ${i}`,
    email: `user${i}@example.com`,
    createdAt: new Date(1_700_000_000_000 + i * 86_400_123),
    tags: ['member', i % 2 === 0 ? 'beta' : 'stable', `team-${i % 7}`],
    active: i % 3 !== 0,
    score: Math.round(((i * 137.5) % 1000) * 10) / 100 + 0.25,
  };
}

function mixedValue() {
  return {
    id: 9_007_199_254_740_993n,
    balance: -(2n ** 70n) + 12345n,
    counts: new Map<unknown, unknown>([
      ['views', 1024],
      [42, 'answer'],
      ['nested', new Map([['deep', [1, 2, 3]]])],
    ]),
    roles: new Set(['admin', 'editor', 'viewer']),
    avatarHash: new Uint8Array(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff)),
    profile: {
      address: { street: '1 Main St', city: 'Zürich', geo: { lat: 47.3769, lng: 8.5417 } },
      updatedAt: new Date(1_710_000_000_000),
      history: [
        { at: new Date(1_700_000_000_000), action: 'created' },
        { action: 'renamed', by: null },
      ],
    },
  };
}

function bigText(bytes: number): { id: number; title: string; body: string } {
  const random = prng(7);
  const words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'loader', 'cache', 'batch', 'graph', 'query'];
  const rare = ['café', 'naïve', 'Zürich', '—', '日本語', '🙂'];
  let body = '';
  while (body.length < bytes) {
    body += random() < 0.01 ? rare[Math.floor(random() * rare.length)] : words[Math.floor(random() * 10)];
    body += random() < 0.08 ? '.\n' : ' ';
  }
  return { id: 42, title: 'A long post', body };
}

const PAYLOADS: ReadonlyArray<{ readonly id: string; readonly label: string; readonly value: unknown }> = [
  { id: 'a', label: '(a) one user row', value: userRow(1) },
  { id: 'b', label: '(b) 100 user rows', value: Array.from({ length: 100 }, (_, i) => userRow(i)) },
  { id: 'c', label: '(c) Map/Set/BigInt/Uint8Array/nested', value: mixedValue() },
  { id: 'd', label: '(d) 50 KB text field', value: bigText(50 * 1024) },
];

// ---------------------------------------------------------------------------------------------------
// Codecs

type Wire = string | Buffer;
interface Codec {
  readonly name: string;
  readonly encode: (value: unknown) => Wire;
  readonly decode: (wire: Wire) => unknown;
  /** A decoder built afresh, as another process would have (msgpackr keeps state per instance). */
  readonly freshDecode?: () => (wire: Wire) => unknown;
}

const KEY = 'lk:User:v1:1';
const GENERATION = 'g7f3a';
const FRESH_UNTIL = 1_760_000_000_000;
const STALE_UNTIL = 1_760_000_060_000;

const lk1: Codec = {
  name: 'lk1 (encodeEntry/decodeEntry)',
  encode(value) {
    const text = encodeEntry({
      key: KEY,
      generation: GENERATION,
      freshUntil: FRESH_UNTIL,
      staleUntil: STALE_UNTIL,
      value,
    });
    if (typeof text !== 'string') throw new Error(`refused: ${text.refused}`);
    return text;
  },
  decode(wire) {
    const entry = decodeEntry(wire, KEY, GENERATION);
    if ('miss' in entry) throw new Error(`miss: ${entry.miss}${entry.detail ? ` (${entry.detail})` : ''}`);
    return entry.value;
  },
};

const json: Codec = {
  name: 'JSON',
  encode: (value) => JSON.stringify(value),
  decode: (wire) => JSON.parse(wire as string),
};

const devalueCodec: Codec = {
  name: 'devalue',
  encode: (value) => devalue.stringify(value),
  decode: (wire) => devalue.parse(wire as string),
};

type Binary = { readonly encode: (value: unknown) => Buffer; readonly decode: (bytes: Buffer) => unknown };

function stringForms(name: string, make: () => Binary): Codec[] {
  const binary = make();
  const fresh = (wrap: (wire: Wire) => Buffer) => () => {
    const other = make();
    return (wire: Wire) => other.decode(wrap(wire));
  };
  return [
    {
      name: `${name} Buffer (raw)`,
      encode: binary.encode,
      decode: (wire) => binary.decode(wire as Buffer),
      freshDecode: fresh((wire) => wire as Buffer),
    },
    {
      name: `${name} latin1`,
      encode: (value) => binary.encode(value).toString('latin1'),
      decode: (wire) => binary.decode(Buffer.from(wire as string, 'latin1')),
      freshDecode: fresh((wire) => Buffer.from(wire as string, 'latin1')),
    },
    {
      name: `${name} base64`,
      encode: (value) => binary.encode(value).toString('base64'),
      decode: (wire) => binary.decode(Buffer.from(wire as string, 'base64')),
      freshDecode: fresh((wire) => Buffer.from(wire as string, 'base64')),
    },
  ];
}

const msgpackr = (options?: ConstructorParameters<typeof Packr>[0]) => (): Binary => {
  const packr = new Packr(options);
  return { encode: (value) => packr.pack(value), decode: (bytes) => packr.unpack(bytes) };
};
const v8Binary = (): Binary => ({
  encode: (value) => serialize(value),
  decode: (bytes) => deserialize(bytes),
});

const CODECS: readonly Codec[] = [
  lk1,
  json,
  devalueCodec,
  ...stringForms('msgpackr', msgpackr()),
  ...stringForms('msgpackr sc', msgpackr({ structuredClone: true })),
  ...stringForms('v8', v8Binary),
];

/** The codecs as a Redis string contract uses them (fuzzed and probed). */
const STRING_CODECS = ['lk1 (encodeEntry/decodeEntry)', 'JSON', 'devalue', 'msgpackr latin1']
  .concat(['msgpackr sc latin1', 'v8 latin1'])
  .map((name) => CODECS.find((codec) => codec.name === name)!);

// ---------------------------------------------------------------------------------------------------
// Fidelity

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null) return 'null-prototype object';
  const type = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  return typeof type === 'function' ? type.name : 'object';
}

function short(value: unknown): string {
  return inspect(value, { depth: 0, breakLength: Infinity }).slice(0, 30);
}

/** Where two values first differ, for a human; undefined if isDeepStrictEqual would agree. */
function firstDiff(a: unknown, b: unknown, path: string): string | undefined {
  if (Object.is(a, b)) return undefined;
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) return `${path}: ${ka} → ${kb}`;
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null)
    return `${path}: ${short(a)} → ${short(b)}`;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime() ? undefined : `${path}: Date value`;
  if (ArrayBuffer.isView(a)) return isDeepStrictEqual(a, b) ? undefined : `${path}: bytes differ`;
  if (a instanceof Map) {
    const ea = [...a];
    const eb = [...(b as Map<unknown, unknown>)];
    if (ea.length !== eb.length) return `${path}: Map size ${ea.length} → ${eb.length}`;
    for (let i = 0; i < ea.length; i++) {
      const d = firstDiff(ea[i], eb[i], `${path}.<entry ${i}>`);
      if (d) return d;
    }
    return undefined;
  }
  if (a instanceof Set) return firstDiff([...a], [...(b as Set<unknown>)], `${path}.<set>`);
  const keysA = Reflect.ownKeys(a).filter((k) => k !== 'length' || !Array.isArray(a));
  const keysB = Reflect.ownKeys(b).filter((k) => k !== 'length' || !Array.isArray(b));
  for (const key of keysA) {
    if (!keysB.includes(key)) return `${path}.${String(key)}: missing`;
    const d = firstDiff(
      (a as Record<PropertyKey, unknown>)[key],
      (b as Record<PropertyKey, unknown>)[key],
      `${path}.${String(key)}`,
    );
    if (d) return d;
  }
  for (const key of keysB) if (!keysA.includes(key)) return `${path}.${String(key)}: extra key`;
  return isDeepStrictEqual(a, b) ? undefined : `${path}: differs`;
}

interface Fidelity {
  readonly ok: boolean;
  /** ✓, or `refuses: …` / `loses: …`. */
  readonly text: string;
}

function fidelity(codec: Codec, value: unknown): { fidelity: Fidelity; wire?: Wire } {
  let wire: Wire;
  try {
    wire = codec.encode(value);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { fidelity: { ok: false, text: `refuses: ${message.replace(/^refused: /, '').slice(0, 60)}` } };
  }
  let decoded: unknown;
  try {
    decoded = (codec.freshDecode?.() ?? codec.decode)(wire);
  } catch (error) {
    return {
      fidelity: { ok: false, text: `own output fails to decode: ${String(error).slice(0, 60)}` },
      wire,
    };
  }
  if (isDeepStrictEqual(decoded, value)) return { fidelity: { ok: true, text: '✓' }, wire };
  return { fidelity: { ok: false, text: `loses: ${firstDiff(value, decoded, '') ?? 'differs'}` }, wire };
}

function byteSize(wire: Wire): number {
  return typeof wire === 'string' ? Buffer.byteLength(wire, 'utf8') : wire.byteLength;
}

// ---------------------------------------------------------------------------------------------------
// Timing

let sink: unknown;

function run(fn: () => unknown, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink = fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

interface Task {
  readonly fn: () => unknown;
  iterations: number;
  readonly samples: number[];
}

function calibrate(task: Task): void {
  let iterations = 1;
  for (;;) {
    const ns = run(task.fn, iterations) * iterations;
    if (ns >= SAMPLE_MS * 1e6 || iterations >= 1 << 22) {
      task.iterations = Math.max(1, Math.round((iterations * SAMPLE_MS * 1e6) / ns));
      return;
    }
    iterations *= ns < (SAMPLE_MS * 1e6) / 16 ? 8 : 2;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The interquartile range relative to the median, in percent: how noisy a cell's rounds were. */
function spread(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))]!;
  return ((at(0.75) - at(0.25)) / median(values)) * 100;
}

interface Cell {
  readonly fidelity: Fidelity;
  readonly size?: number;
  readonly encode?: Task;
  readonly decode?: Task;
}

function bench(): void {
  const cells = new Map<string, Cell>();
  const cellKey = (codec: Codec, payload: { id: string }) => `${codec.name}|${payload.id}`;
  for (const codec of CODECS) {
    for (const payload of PAYLOADS) {
      const { fidelity: result, wire } = fidelity(codec, payload.value);
      if (wire === undefined || result.text.startsWith('own output')) {
        cells.set(cellKey(codec, payload), { fidelity: result });
        continue;
      }
      const input = typeof wire === 'string' ? wire : Buffer.from(wire);
      cells.set(cellKey(codec, payload), {
        fidelity: result,
        size: byteSize(wire),
        encode: { fn: () => codec.encode(payload.value), iterations: 1, samples: [] },
        decode: { fn: () => codec.decode(input), iterations: 1, samples: [] },
      });
    }
  }
  const tasksOf = (codec: Codec) =>
    PAYLOADS.flatMap((payload) => {
      const cell = cells.get(cellKey(codec, payload))!;
      return cell.encode && cell.decode ? [cell.encode, cell.decode] : [];
    });
  const started = performance.now();
  for (const codec of CODECS) for (const task of tasksOf(codec)) calibrate(task);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < CODECS.length; i++) {
      const codec = CODECS[(i + round) % CODECS.length]!;
      for (const task of tasksOf(codec)) task.samples.push(run(task.fn, task.iterations));
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);

  const ns = (task: Task | undefined) => (task ? median(task.samples) : undefined);
  const fmt = (value: number | undefined) =>
    value === undefined ? '—' : Math.round(value).toLocaleString('en-US');
  console.log(
    `## Codec benchmark\n\nNode ${process.version}, msgpackr ${version('msgpackr')}, devalue ${version('devalue')}; ` +
      `${ROUNDS} interleaved rounds × ~${SAMPLE_MS} ms per cell, median; ${seconds} s; loadavg ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}.\n` +
      `lk1 sizes include its envelope (${lk1Overhead()} B: marker, key, generation, lifetimes). ` +
      '"×lk1" = (encode+decode) relative to lk1 on the same payload; "IQR %" = the noisier of encode/decode ' +
      '(interquartile range of the rounds / median); size in UTF-8 bytes of the string sent ' +
      '(raw Buffer rows: bytes, not a string — not allowed by the contract).\n',
  );
  for (const payload of PAYLOADS) {
    const base = cells.get(cellKey(lk1, payload))!;
    const baseTotal = (ns(base.encode) ?? Number.NaN) + (ns(base.decode) ?? Number.NaN);
    console.log(`### ${payload.label}\n`);
    console.log('| codec | encode ns/op | decode ns/op | ×lk1 | IQR % | size B | round-trip |');
    console.log('|---|--:|--:|--:|--:|--:|---|');
    for (const codec of CODECS) {
      const cell = cells.get(cellKey(codec, payload))!;
      const total = (ns(cell.encode) ?? Number.NaN) + (ns(cell.decode) ?? Number.NaN);
      const ratio = Number.isFinite(total) ? `${(total / baseTotal).toFixed(2)}` : '—';
      const noise =
        cell.encode && cell.decode
          ? Math.max(spread(cell.encode.samples), spread(cell.decode.samples)).toFixed(0)
          : '—';
      console.log(
        `| ${codec.name} | ${fmt(ns(cell.encode))} | ${fmt(ns(cell.decode))} | ${ratio} | ${noise} | ${fmt(cell.size)} | ${cell.fidelity.text} |`,
      );
    }
    console.log('');
  }
}

function lk1Overhead(): number {
  return byteSize(lk1.encode(null)) - 'null'.length;
}

function version(name: string): string {
  try {
    const path = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------------
// Safety probes (run in a child process: they may touch Object.prototype)

const PROTO_JSON = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted2":true}},"id":1}';

function msgpackString(text: string): Buffer {
  const bytes = Buffer.from(text);
  if (bytes.length > 31) throw new Error('fixstr only');
  return Buffer.concat([Buffer.from([0xa0 + bytes.length]), bytes]);
}

/** A hand-written msgpack map {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted2": true}}}. */
function craftedMsgpackMap(): Buffer {
  return Buffer.concat([
    Buffer.from([0x82]),
    msgpackString('__proto__'),
    Buffer.from([0x81]),
    msgpackString('polluted'),
    Buffer.from([0xc3]),
    msgpackString('constructor'),
    Buffer.from([0x81]),
    msgpackString('prototype'),
    Buffer.from([0x81]),
    msgpackString('polluted2'),
    Buffer.from([0xc3]),
  ]);
}

function protoVerdict(decode: () => unknown): string {
  let value: unknown;
  try {
    value = decode();
  } catch (error) {
    return `throws (${String(error instanceof Error ? error.message : error).slice(0, 60)})`;
  }
  const probe = {} as Record<string, unknown>;
  const global = probe.polluted !== undefined || probe.polluted2 !== undefined;
  if (global) return '**Object.prototype POLLUTED**';
  if (typeof value !== 'object' || value === null) return `returns ${short(value)}`;
  if (value instanceof Map)
    return `no global pollution; decodes as a Map (keys ${[...value.keys()].map(String).join(', ')}): no prototype involved`;
  const proto: unknown = Object.getPrototypeOf(value);
  const protoText =
    proto === Object.prototype
      ? 'proto = Object.prototype'
      : proto === null
        ? 'proto = null'
        : `**proto = ${kindOf(proto)}.prototype**`;
  const record = value as Record<string, unknown>;
  const inherits = !Object.hasOwn(record, 'polluted') && record.polluted !== undefined;
  const keys = `own keys ${Object.keys(record).join(', ')}`;
  const downstream = Object.getPrototypeOf(Object.assign({}, value)) === Object.prototype;
  return `no global pollution; ${protoText}${inherits ? ' **(inherits polluted)**' : ''}; ${keys}${
    downstream ? '' : '; `Object.assign({}, v)` then gets a foreign prototype'
  }`;
}

function safety(): void {
  const lines: string[] = ['## Safety probes (child process)\n'];
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);

  lines.push('### `__proto__` / `constructor.prototype` in decoded input\n');
  lines.push('| codec | crafted input | result |', '|---|---|---|');
  const envelope = (tree: string) => `lk1:[${JSON.stringify(KEY)},${JSON.stringify(GENERATION)},1,2,${tree}]`;
  row(
    'lk1',
    'plain object',
    protoVerdict(() => lk1.decode(envelope(PROTO_JSON))),
  );
  row(
    'lk1',
    '`{"$":"o"}` / `{"$":"z"}` tags',
    `${protoVerdict(() => lk1.decode(envelope(`{"$":"o","v":${PROTO_JSON}}`)))} / z: ${protoVerdict(() =>
      lk1.decode(envelope(`{"$":"z","v":${PROTO_JSON}}`)),
    )}`,
  );
  row(
    'JSON',
    'plain object',
    protoVerdict(() => JSON.parse(PROTO_JSON)),
  );
  row(
    'devalue',
    '`[{"__proto__":1},…]`',
    protoVerdict(() => devalue.parse('[{"__proto__":1,"id":2},{"polluted":2},true]')),
  );
  row(
    'devalue',
    '`constructor.prototype`',
    protoVerdict(() => devalue.parse('[{"constructor":1,"id":3},{"prototype":2},{"polluted2":3},true]')),
  );
  row(
    'devalue',
    '`["null","__proto__",…]`',
    protoVerdict(() => devalue.parse('[["null","__proto__",1],{"polluted":2},true]')),
  );
  const map = craftedMsgpackMap();
  row(
    'msgpackr',
    'hand-made msgpack map, `new Packr()`',
    protoVerdict(() => new Packr().unpack(map)),
  );
  row(
    'msgpackr',
    'same, `unpack()` (maps as objects)',
    protoVerdict(() => unpack(map)),
  );
  row(
    'msgpackr sc',
    'same, `structuredClone: true`',
    protoVerdict(() => new Packr({ structuredClone: true }).unpack(map)),
  );
  const records = new Packr().pack(Array.from({ length: 6 }, () => JSON.parse(PROTO_JSON)));
  row(
    'msgpackr',
    'record ×6 (generated reader via `new Function`)',
    protoVerdict(() => (new Packr().unpack(records) as unknown[])[5]),
  );
  row(
    'v8',
    '`serialize(JSON.parse(…))`',
    protoVerdict(() => deserialize(serialize(JSON.parse(PROTO_JSON)))),
  );

  lines.push('\n### Exotic values from crafted input\n');
  lines.push('| codec | probe | observed |', '|---|---|---|');
  const attempt = (fn: () => unknown) => {
    try {
      return fn();
    } catch (error) {
      return new ProbeError(error instanceof Error ? error.message : String(error));
    }
  };
  const show = (value: unknown) =>
    value instanceof ProbeError
      ? `throws (${value.message.slice(0, 70)})`
      : value instanceof Error
        ? `a ${kindOf(value)} "${value.message}" (stack text from the input: ${String(value.stack).split('\n').length} lines)`
        : short(value).replace(/\|/g, '\\|');

  row(
    'lk1',
    'unknown tag `{"$":"f","v":"…"}`',
    show(attempt(() => lk1.decode(envelope('{"$":"f","v":"return 1"}')))),
  );
  row(
    'lk1',
    'RegExp tag `{"$":"r","v":"(a+)+$","f":""}`',
    show(attempt(() => lk1.decode(envelope('{"$":"r","v":"(a+)+$","f":""}')))),
  );
  row(
    'devalue',
    '`[["Function","return 1"]]` (no revivers)',
    show(attempt(() => devalue.parse('[["Function","return 1"]]'))),
  );
  row(
    'devalue',
    'type named `constructor` / `__proto__`',
    show(attempt(() => devalue.parse('[["constructor",1],2]'))),
  );
  const selfRef = attempt(() => devalue.parse('[{"self":0}]')) as { self?: unknown };
  row('devalue', 'cycle `[{"self":0}]`', `decodes; v.self === v: ${selfRef.self === selfRef}`);
  row('devalue', '`["RegExp","(a+)+$",""]`', show(attempt(() => devalue.parse('[["RegExp","(a+)+$",""]]'))));
  const digits = '9'.repeat(200_000);
  const t0 = performance.now();
  attempt(() => devalue.parse(`[["BigInt","${digits}"]]`));
  const tDevalue = performance.now() - t0;
  const t1 = performance.now();
  attempt(() => lk1.decode(envelope(`{"$":"b","v":"${'f'.repeat(166_000)}"}`)));
  const tLk1 = performance.now() - t1;
  row(
    'devalue vs lk1',
    'BigInt of ~200 KB digits (decimal vs hex)',
    `devalue ${tDevalue.toFixed(1)} ms, lk1 ${tLk1.toFixed(1)} ms`,
  );

  const errorExt = (name: string) =>
    Buffer.concat([
      Buffer.from([0xd4, 0x65, 0x00, 0x93]),
      msgpackString(name),
      msgpackString('m'),
      Buffer.from([0xc0]),
    ]);
  const leaked = attempt(() => new Packr().unpack(errorExt('valueOf')));
  const leakedFunctions =
    typeof leaked === 'object' && leaked !== null && !(leaked instanceof ProbeError)
      ? Object.entries(leaked)
          .filter(([, v]) => typeof v === 'function')
          .map(([k]) => k)
      : [];
  row(
    'msgpackr (any options)',
    'Error ext 0x65 with name `valueOf`',
    `returns msgpackr's internal error table: an object of ${leakedFunctions.length} live functions (${leakedFunctions.slice(0, 3).join(', ')}, …) — same object each time: ${
      leaked === new Packr().unpack(errorExt('valueOf'))
    }`,
  );
  row(
    'msgpackr (any options)',
    'Error ext with name `constructor`',
    show(attempt(() => new Packr().unpack(errorExt('constructor')))),
  );
  const evil: Record<string, number> = { 'a:r()});globalThis.__pwned=1;({b': 1, 'x\u2028y': 2 };
  const codegen = new Packr().pack(Array.from({ length: 6 }, () => ({ ...evil })));
  attempt(() => new Packr().unpack(codegen));
  row(
    'msgpackr',
    'record keys that try to break out of the generated `new Function` reader',
    `globalThis.__pwned = ${String((globalThis as Record<string, unknown>).__pwned)} (keys go through JSON.stringify)`,
  );
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  const cycleWire = new Packr({ structuredClone: true }).pack(cyclic);
  const cycleDefault = attempt(() => new Packr().unpack(cycleWire)) as { self?: unknown };
  row(
    'msgpackr (default options)',
    'structured-clone reference ext from a crafted value',
    `decoded by a default Packr too; cycle: ${cycleDefault.self === cycleDefault}`,
  );
  row(
    'msgpackr',
    '`["(a+)+$",""]` RegExp ext 0x78',
    show(attempt(() => new Packr().unpack(Buffer.from('d4780092a628612b292b24a0', 'hex')))),
  );

  row('v8', 'host object with type index 99', show(attempt(() => deserialize(craftedV8HostObject(99)))));
  const v8Cycle = attempt(() => deserialize(serialize(cyclic))) as { self?: unknown };
  row('v8', 'cycle', `decodes; cycle: ${v8Cycle.self === v8Cycle}`);
  row('v8', 'Error object', show(attempt(() => deserialize(serialize(new RangeError('crafted'))))));
  row(
    'v8',
    'trailing junk after a valid value',
    show(attempt(() => deserialize(Buffer.concat([serialize({ ok: 1 }), Buffer.from('JUNKJUNK')])))),
  );
  // Node's _readHostObject returns `new ctor(this.buffer.buffer, offset, n)`: a view into the input.
  const secret = Buffer.from('SECRET-session-token-0123456789');
  const wire = serialize({ avatar: new Uint8Array([1, 2, 3]) }).toString('latin1');
  const decoded = deserialize(Buffer.from(wire, 'latin1')) as { avatar: Uint8Array };
  const backing = Buffer.from(decoded.avatar.buffer);
  row(
    'v8',
    'decoded Uint8Array from a small latin1 wire',
    `\`.buffer\` is ${backing.byteLength} B (value is 3 B); contains an unrelated pooled secret: ${backing.includes(secret)}`,
  );
  row(
    'base64 forms',
    '`Buffer.from("@@not base64!!", "base64")`',
    `no error: ${Buffer.from('@@not base64!!', 'base64').length} bytes`,
  );
  console.log(lines.join('\n'));
}

class ProbeError {
  constructor(readonly message: string) {}
}

/** A v8 wire holding one host object (Node's typed-array carrier) of a given type index. */
function craftedV8HostObject(typeIndex: number): Buffer {
  const genuine = serialize(new Uint8Array([1, 2, 3, 4]));
  // Header 0xff 0x0f, then '\\' (host object), then uint32 varint type index (Uint8Array = 1).
  const at = genuine.indexOf(0x5c);
  const out = Buffer.from(genuine);
  if (at < 0 || out[at + 1]! >= 0x80) throw new Error('unexpected v8 wire');
  out[at + 1] = typeIndex;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Fuzz (one child per codec, so a crash or hang is seen by the parent)

type Outcome = 'error' | 'same' | 'wrong';

function fuzz(name: string): void {
  const codec = STRING_CODECS.find((c) => c.name === name)!;
  const random = prng(12345);
  const counts: Record<string, Record<Outcome, number>> = {};
  let slowest = 0;
  const nothing = Symbol('nothing');
  const tally = (category: string, wire: string, original: unknown) => {
    const bucket = counts[category] ?? { error: 0, same: 0, wrong: 0 };
    counts[category] = bucket;
    const start = performance.now();
    let outcome: Outcome;
    try {
      const value = codec.decode(wire);
      outcome = original !== nothing && isDeepStrictEqual(value, original) ? 'same' : 'wrong';
    } catch {
      outcome = 'error';
    }
    slowest = Math.max(slowest, performance.now() - start);
    bucket[outcome]++;
  };
  const randomChars = (length: number, printable: boolean) => {
    let text = '';
    for (let i = 0; i < length; i++)
      text += String.fromCharCode(printable ? 32 + Math.floor(random() * 95) : Math.floor(random() * 256));
    return text;
  };
  for (const payload of PAYLOADS) {
    let wire: string;
    try {
      wire = codec.encode(payload.value) as string;
    } catch {
      continue;
    }
    for (let i = 0; i < 60; i++)
      tally('truncated', wire.slice(0, Math.floor((wire.length * i) / 60)), payload.value);
    tally('truncated', wire.slice(0, -1), payload.value);
    for (const junk of ['x', '\u0000', '}', ']', '0', randomChars(8, false)])
      tally('trailing junk', wire + junk, payload.value);
    for (let i = 0; i < 400; i++) {
      const at = Math.floor(random() * wire.length);
      const corrupted =
        wire.slice(0, at) + String.fromCharCode(Math.floor(random() * 256)) + wire.slice(at + 1);
      tally('1-char corruption', corrupted, payload.value);
    }
    for (let i = 0; i < 100; i++)
      tally(
        'garbage after a valid prefix',
        wire.slice(0, 8) + randomChars(Math.floor(random() * 200), i % 2 === 0),
        nothing,
      );
  }
  for (let i = 0; i < 600; i++)
    tally('garbage', randomChars(Math.floor(random() * 300), i % 2 === 0), nothing);
  console.log(JSON.stringify({ counts, slowest }));
}

async function fuzzAll(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const runChild = (args: string[]) =>
    new Promise<{ stdout: string; code: number | null; signal: string | null; timedOut: boolean }>(
      (resolve) => {
        const child = spawn(process.execPath, [...process.execArgv, self, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
        });
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, 25_000);
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          if (code !== 0 && stderr) process.stderr.write(stderr.slice(0, 2000));
          resolve({ stdout, code, signal, timedOut });
        });
      },
    );

  const safetyRun = runChild(['--safety']);
  const results: Array<Awaited<ReturnType<typeof runChild>>> = [];
  for (let i = 0; i < STRING_CODECS.length; i += 2) {
    results.push(
      ...(await Promise.all(STRING_CODECS.slice(i, i + 2).map((c) => runChild(['--fuzz', c.name])))),
    );
  }
  const safetyResult = await safetyRun;
  console.log(
    safetyResult.code === 0
      ? safetyResult.stdout
      : `safety child failed: code ${safetyResult.code} signal ${safetyResult.signal}\n${safetyResult.stdout}`,
  );

  console.log('### Fuzzed decoding (string wire, one child process per codec)\n');
  console.log(
    'Counts are error / same value / **different value returned silently**. "error" = threw (lk1: a miss). ' +
      'Garbage has no right value, so anything returned counts as "different".\n',
  );
  const categories = [
    'truncated',
    'trailing junk',
    '1-char corruption',
    'garbage after a valid prefix',
    'garbage',
  ];
  console.log(`| codec | ${categories.join(' | ')} | slowest decode | process |`);
  console.log(`|---|${categories.map(() => '--:').join('|')}|--:|---|`);
  STRING_CODECS.forEach((codec, i) => {
    const result = results[i]!;
    const status = result.timedOut
      ? '**hung (killed after 25 s)**'
      : result.signal
        ? `**crashed (${result.signal})**`
        : result.code !== 0
          ? `**exited ${result.code}**`
          : 'ok';
    let parsed: { counts: Record<string, Record<Outcome, number>>; slowest: number } | undefined;
    try {
      parsed = JSON.parse(result.stdout.trim().split('\n').pop() ?? '');
    } catch {
      parsed = undefined;
    }
    const cells = categories.map((category) => {
      const c = parsed?.counts[category];
      return c ? `${c.error} / ${c.same} / ${c.wrong ? `**${c.wrong}**` : 0}` : '—';
    });
    console.log(
      `| ${codec.name} | ${cells.join(' | ')} | ${parsed ? `${parsed.slowest.toFixed(1)} ms` : '—'} | ${status} |`,
    );
  });
  console.log('');
}

// ---------------------------------------------------------------------------------------------------

const mode = process.argv[2];
if (mode === '--safety') safety();
else if (mode === '--fuzz') fuzz(process.argv[3]!);
else {
  bench();
  await fuzzAll();
}
void sink;
