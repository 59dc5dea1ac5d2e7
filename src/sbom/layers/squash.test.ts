import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AirlockError } from '../../errors.ts';
import { isWhiteout, normalisePath, SquashedView } from './squash.ts';

describe('squashed view', () => {
  it('normalises tar paths to absolute ones and refuses `..`', () => {
    assert.equal(normalisePath('./usr//lib/'), '/usr/lib');
    assert.equal(normalisePath('/etc/os-release'), '/etc/os-release');
    assert.equal(normalisePath('./'), '/');
    for (const bad of ['../x', 'a/../../b', 'a/..']) {
      assert.throws(
        () => normalisePath(bad),
        (e: unknown) => e instanceof AirlockError && e.code === 'E_INPUT_MALFORMED',
      );
    }
  });

  it('applies a layer’s entries to the layers below it only once the layer ends', () => {
    const view = new SquashedView();
    view.record('/a/.wh.b', 'file');
    view.record('/o/.wh..wh..opq', 'file');
    view.record('/f', 'file');
    view.record('/d', 'dir');
    assert.equal(view.hidden('/a/b'), false, 'not within its own layer');
    view.endLayer();
    assert.equal(view.hidden('/a/b'), true);
    assert.equal(view.hidden('/a/b/c'), true);
    assert.equal(view.hidden('/a/bb'), false);
    assert.equal(view.hidden('/o'), false);
    assert.equal(view.hidden('/o/x/y'), true);
    assert.equal(view.hidden('/f'), true);
    assert.equal(view.hidden('/f/under'), true);
    assert.equal(view.hidden('/d'), true, 'a lower entry at the same path');
    assert.equal(view.hidden('/d/under'), false, 'directories merge');
    assert.ok(isWhiteout('/a/.wh.b') && isWhiteout('/o/.wh..wh..opq') && !isWhiteout('/a/b.wh.'));
  });

  it('a root-level whiteout and a repeated path', () => {
    const view = new SquashedView();
    view.record('/.wh.top', 'file');
    assert.equal(view.repeated('/x'), false);
    view.record('/x', 'file');
    assert.equal(view.repeated('/x'), true);
    view.endLayer();
    assert.equal(view.hidden('/top/file'), true);
    assert.equal(view.repeated('/x'), false);
  });
});
