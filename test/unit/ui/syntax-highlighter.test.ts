import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { highlightFile, languageOf } from '../../../src/ui/web/syntax-highlighter.js';

describe('file viewer syntax highlighting', () => {
  it('knows a language by file name, extension or #! line', () => {
    assert.equal(languageOf('/app/Dockerfile', ''), 'dockerfile');
    assert.equal(languageOf('/src/Makefile', ''), 'makefile');
    assert.equal(languageOf('/app/server.MJS', ''), 'javascript');
    assert.equal(languageOf('/etc/nginx/nginx.conf', ''), 'nginx');
    assert.equal(languageOf('/etc/app.yml', ''), 'yaml');
    assert.equal(languageOf('/usr/bin/start', '#!/bin/sh\nexec x\n'), 'bash');
    assert.equal(languageOf('/usr/bin/tool', '#!/usr/bin/env python3 -u\n'), 'python');
    assert.equal(languageOf('/usr/bin/run', '#! /usr/local/bin/node\n'), 'javascript');
    assert.equal(languageOf('/app/VERSION', '1.2.3\n'), undefined);
    assert.equal(languageOf('/usr/bin/x', '#!/usr/bin/awk -f\n'), undefined);
    assert.equal(languageOf('/.hidden', ''), undefined);
  });

  it('marks tokens up and escapes the text', () => {
    const text = 'const s = "</code><script>alert(1)</script>"; // <b>note</b>\n';
    const h = highlightFile('/app/server.js', text)!;
    assert.equal(h.language, 'javascript');
    assert.match(h.html, /^<span class="hljs-keyword">const<\/span> s = /);
    assert.match(h.html, /<span class="hljs-string">&quot;&lt;\/code&gt;&lt;script&gt;/);
    assert.match(h.html, /<span class="hljs-comment">\/\/ &lt;b&gt;note&lt;\/b&gt;<\/span>/);
    assert.ok(!/<(script|b|\/code)\b/.test(h.html), h.html);
    // The markup taken away leaves the text exactly.
    const plain = h.html
      .replace(/<[^>]+>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#x27;/g, "'")
      .replace(/&amp;/g, '&');
    assert.equal(plain, text);
    assert.equal(highlightFile('/app/VERSION', '1.2.3\n'), undefined);
  });
});
