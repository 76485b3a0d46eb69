/**
 * The sharing rules through a shared loader (issue #10, §1): a value is shared only if every request
 * gets a faithful, unchangeable copy; anything else reaches its own request unchanged, is not cached,
 * and is reported once. The rules themselves are tested in immutable.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { flush, harness } from './harness.js';

describe('values a shared loader cannot share faithfully', () => {
  it('a Buffer reaches its own request as a Buffer and is not shared', async () => {
    const h = harness({ answer: (id) => ({ id, avatar: Buffer.from('hi') }) });
    const first = (await h.request().items.load(1)) as unknown as { avatar: Buffer };
    expect(first.avatar.toString('base64')).toBe('aGk=');
    await h.request().items.load(1);
    expect(h.calls).toHaveLength(2);
    expect(h.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^Loader "items": a value is served to its own request but never shared: .*Buffer/,
      ),
    ]);
  });

  it('an array with a non-index property is not shared: no request can change it for another', async () => {
    const h = harness({
      answer: (id, _ctx, call) => Object.assign([{ id, call }], { meta: { total: 1 } }),
    });
    const first = (await h.request().items.load(1)) as unknown as { meta: { total: number } };
    first.meta.total = 999;
    const second = (await h.request().items.load(1)) as unknown as { meta: { total: number } };
    expect(second.meta.total).toBe(1);
    expect(h.calls).toHaveLength(2);
  });

  it('a throwing getter does not reject the batch: the value is served, not shared', async () => {
    const h = harness({
      answer: (id) => ({
        id,
        get secret(): string {
          throw new Error('no');
        },
      }),
    });
    const values = await h.request().items.loadMany([1, 2]);
    expect(values.map((v) => (v as { id: number }).id)).toEqual([1, 2]);
    expect(h.errors).toHaveLength(1);
  });

  it('a value nested 100,000 levels deep is served, not shared; a DAG of 60 levels is shared', async () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    let dag: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 60; i++) dag = { a: dag, b: dag };
    const h = harness({ answer: (id) => (id === 1 ? deep : dag) });
    expect(await h.request().items.load(1)).toBe(deep);
    expect(await h.request().items.load(2)).toBe(dag);
    expect(Object.isFrozen(dag)).toBe(true);
    await h.request().items.loadMany([1, 2]);
    expect(h.keys()).toEqual([[1], [2], [1]]);
  });
});

describe('requests that join one load never share a changeable object', () => {
  it('a cloned-on-read value (with a Map): each joined request gets its own copy', async () => {
    const h = harness({ manual: true, answer: (id) => ({ id, tags: new Map([['a', 1]]) }) });
    const a = h.request().items.load(1);
    const b = h.request().items.load(1);
    await flush();
    expect(h.keys()).toEqual([[1]]);
    h.calls[0]!.resolve();
    const [va, vb] = (await Promise.all([a, b])) as Array<{ tags: Map<string, number> }>;
    expect(va).not.toBe(vb);
    va!.tags.set('a', 999);
    expect(vb!.tags.get('a')).toBe(1);
    expect((await h.request().items.load(1)) as unknown).toEqual({ id: 1, tags: new Map([['a', 1]]) });
  });

  it('an unshareable value (a class instance) reaches only the request that loaded it; a joined one loads its own', async () => {
    class Row {
      constructor(readonly id: number) {}
    }
    const h = harness({ manual: true, answer: (id) => new Row(id) });
    const a = h.request().items.load(1);
    const b = h.request().items.load(1);
    await flush();
    h.calls[0]!.resolve();
    await flush();
    expect(h.keys()).toEqual([[1], [1]]);
    h.calls[1]!.resolve();
    const [va, vb] = await Promise.all([a, b]);
    expect(va).toBeInstanceOf(Row);
    expect(vb).toBeInstanceOf(Row);
    expect(va).not.toBe(vb);
  });
});
