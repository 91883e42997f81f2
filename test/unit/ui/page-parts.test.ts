import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { classify, hexDump, readHead } from '../../../src/ui/file-head.js';
import { html } from '../../../src/ui/web/html.js';

describe('explorer page parts', () => {
  it('escape every interpolated value, nested fragments once', () => {
    const name = `<img src=x onerror="alert('x')">&`;
    const inner = html`<b>${name}</b>`;
    assert.equal(
      html`<p title="${name}">${inner}${[1, null, false, 'a<b']}</p>`.text,
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"><b>&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;</b>1a&lt;b</p>',
    );
  });

  it('read the head of a stream and stop pulling from it', async () => {
    let pulled = 0;
    const source = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1024, 0x61));
      },
    });
    const { head, truncated } = await readHead(source, 4096);
    assert.equal(head.length, 4096);
    assert.equal(truncated, true);
    assert.ok(source.destroyed);
    assert.ok(pulled < 64, `pulled ${pulled} KiB of an endless stream`);
    const short = await readHead(Readable.from([Buffer.from('hi\n')]), 4096);
    assert.deepEqual(short, { head: Buffer.from('hi\n'), truncated: false });
  });

  it('tell text from binary, a UTF-8 character cut at the end still text', () => {
    assert.equal(classify(Buffer.from('caf\u00e9\n')), 'text');
    assert.equal(classify(Buffer.from('caf\u00e9').subarray(0, 4)), 'text');
    assert.equal(classify(Buffer.from([0x41, 0x00, 0x42])), 'binary');
    assert.equal(classify(Buffer.from([0x66, 0xe9, 0x66])), 'binary');
  });

  it('dump bytes as hexdump -C does', () => {
    const lines = hexDump(Buffer.from('0123456789abcdefXY\n'));
    assert.deepEqual(lines, [
      '00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|',
      '00000010  58 59 0a                                          |XY.|',
    ]);
  });
});
