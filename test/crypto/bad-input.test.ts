import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { blake3, ed25519 } from '../../ts/crypto/index.js';
import { OmniError, fromNative } from '../../ts/errors.js';
import { loggerFor, setLogger } from '../../ts/logger.js';
import { native } from '../../ts/native.js';

function detached(): Uint8Array {
  const u = new Uint8Array(16);
  structuredClone(u.buffer, { transfer: [u.buffer] });
  return u;
}

/** Values of every wrong shape a caller might pass. */
const junk: unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  NaN,
  2 ** 53,
  'str',
  '',
  true,
  {},
  [],
  [1, 2],
  () => 1,
  Symbol('s'),
  10n,
  new ArrayBuffer(8),
  new Uint16Array(4),
  new DataView(new ArrayBuffer(4)),
  new Uint8Array(0),
  new Uint8Array(31),
  new Uint8Array(33),
  new Uint8Array(64),
  detached(),
  { length: 32 },
  { mode: 'strict' },
  { length: 0 },
  { length: 1e12 },
  { key: new Uint8Array(3) },
  { unknownOption: 1 },
];

const fns: Record<string, (...a: unknown[]) => unknown> = {
  'blake3.hash': blake3.hash as never,
  'blake3.deriveKey': blake3.deriveKey as never,
  'blake3.createHasher': blake3.createHasher as never,
  'blake3.hashMany': blake3.hashMany as never,
  'blake3.hashFile': blake3.hashFile as never,
  'blake3.hashAsync': blake3.hashAsync as never,
  'ed25519.generateKeyPair': ed25519.generateKeyPair as never,
  'ed25519.publicKeyFromSecret': ed25519.publicKeyFromSecret as never,
  'ed25519.sign': ed25519.sign as never,
  'ed25519.createSigner': ed25519.createSigner as never,
  'ed25519.verify': ed25519.verify as never,
  'ed25519.verifyBatch': ed25519.verifyBatch as never,
  'ed25519.verifyBatchAsync': ed25519.verifyBatchAsync as never,
  'hasher.update': (d) => blake3.createHasher().update(d as never),
  'hasher.digest': (l) => blake3.createHasher().digest(l as never),
  'signer.sign': (m) => ed25519.createSigner(new Uint8Array(32)).sign(m as never),
};

async function outcome(fn: () => unknown): Promise<'ok' | OmniError> {
  try {
    const r = fn();
    if (r instanceof Promise) await r;
    return 'ok';
  } catch (err) {
    if (!(err instanceof OmniError)) throw new Error(`non-OmniError escaped: ${String(err)}`, { cause: err });
    return err;
  }
}

describe('every exported function under bad input', () => {
  for (const [name, fn] of Object.entries(fns)) {
    it(`${name}: only valid results or OmniError, never a crash or a foreign error`, async () => {
      for (const a of junk) {
        for (const b of [undefined, a, new Uint8Array(32), 'x']) {
          const r = await outcome(() => fn(a, b, a));
          if (r !== 'ok') {
            expect(r.code).toMatch(/^ERR_OMNI_/);
            expect(r.message.length).toBeGreaterThan(5);
          }
        }
      }
    });
  }

  it('detached buffers are reported as detached, not hashed as empty', () => {
    expect(() => blake3.hash(detached())).toThrow(/data: the buffer is detached/);
    expect(() => ed25519.verify(new Uint8Array(64), detached(), new Uint8Array(32))).toThrow(/message: the buffer is detached/);
  });

  it('the raw N-API hash entry point checks its own arguments (structured errors, no crash)', () => {
    const { blake3HashInto } = native.cryptoFastCalls();
    const out = new Uint8Array(32);
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'ok';
      } catch (err) {
        return `${fromNative(err).code} ${fromNative(err).message}`;
      }
    };
    for (const bad of [undefined, null, 'x', 1, {}, new Uint16Array(4), new ArrayBuffer(8)]) {
      expect(code(() => blake3HashInto(bad as never, out))).toMatch(/^ERR_OMNI_INVALID_ARGUMENT data: expected a Uint8Array/);
      expect(code(() => blake3HashInto(new Uint8Array(1), bad as never))).toMatch(/^ERR_OMNI_INVALID_ARGUMENT out: expected a Uint8Array/);
    }
    expect(code(() => blake3HashInto(new Uint8Array(1), new Uint8Array(31)))).toMatch(/^ERR_OMNI_INVALID_ARGUMENT out: expected 32 bytes, got 31/);
    expect(code(() => blake3HashInto(new Uint8Array(0), out))).toBe('ok');
    expect(out).toEqual(blake3.hash(new Uint8Array(0)));
    // The output may alias the input: the whole input is read before the digest is written.
    const same = new Uint8Array(32).fill(9);
    const expected = blake3.hash(same);
    blake3HashInto(same, same);
    expect(same).toEqual(expected);
  });

  it('verifyBatch names the bad item and field', () => {
    const good = { signature: new Uint8Array(64), message: 'm', publicKey: new Uint8Array(32) };
    const items = [good, good, { ...good, publicKey: new Uint8Array(31) }];
    expect(() => ed25519.verifyBatch(items)).toThrow(/^items\[2\]\.publicKey: expected 32 bytes, got 31/);
    expect(() => ed25519.verifyBatch([good, { ...good, signature: 'x' as never }])).toThrow(/^items\[1\]\.signature: expected a Uint8Array, got a string/);
    expect(() => ed25519.verifyBatch([{ ...good, message: 5 as never }])).toThrow(/^items\[0\]\.message: expected a Uint8Array, got a number/);
    expect(() => ed25519.verifyBatch([{ ...good, message: detached() }])).toThrow(/^items\[0\]\.message: the buffer is detached/);
    expect(ed25519.verifyBatch([good, { ...good, message: new Uint8Array(0) }])).toEqual([false, false]);
  });

  it('huge requested outputs hit the limit with a clear error instead of allocating', () => {
    expect(() => blake3.hash('x', { length: 2 ** 31 })).toThrow(/opts\.length/);
    expect(() => blake3.deriveKey('c', 'm', 0)).toThrow(/length/);
  });

  it('a large input (64 MiB) hashes fine', () => {
    expect(blake3.hash(new Uint8Array(64 << 20)).byteLength).toBe(32);
  });

  it('zod option errors reach the user inside OmniError with the path', () => {
    try {
      blake3.hash('x', { length: 'ten' as never });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(OmniError);
      expect((err as OmniError).message).toMatch(/^opts\.length: /);
      expect((err as OmniError).cause).toBeDefined();
    }
    expect(() => blake3.createHasher({ key: new Uint8Array(32), context: 'c' })).toThrow(/mutually exclusive/);
  });

  it('a Rust panic in the addon becomes ERR_OMNI_INTERNAL, and the addon keeps working', () => {
    let caught: unknown;
    try {
      native.debugPanic('deliberate');
    } catch (err) {
      caught = fromNative(err);
    }
    expect(caught).toBeInstanceOf(OmniError);
    expect((caught as OmniError).code).toBe('ERR_OMNI_INTERNAL');
    expect((caught as OmniError).message).toContain('deliberate');
    expect(blake3.hash('still alive').byteLength).toBe(32);
  });
});

describe('logging', () => {
  it('is silent by default and goes to an injected pino logger', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    loggerFor('test').info('not printed');
    setLogger(pino({ level: 'info' }, sink));
    loggerFor('crypto').info({ n: 1 }, 'hello');
    expect(lines.length).toBe(1);
    expect(JSON.parse(lines[0])).toMatchObject({ module: 'omnitide:crypto', msg: 'hello', n: 1 });
    setLogger(pino({ level: 'silent' }));
  });
});
