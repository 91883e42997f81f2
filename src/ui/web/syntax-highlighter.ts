/**
 * Syntax highlighting for the file viewer, on the server: highlight.js (BSD-3-Clause,
 * maintained, no dependencies) with the languages container images mostly hold, chosen
 * by the file's name or its `#!` line. The page gets `<span class="hljs-…">` runs and a
 * style sheet of a few colours; no script. highlight.js is loaded when the first file is
 * highlighted, so no other command reads or compiles it.
 */
import { createRequire } from 'node:module';

/** The part of highlight.js used here. */
interface Highlighter {
  registerLanguage(name: string, language: unknown): void;
  highlight(
    code: string,
    options: { language: string; ignoreIllegals: boolean },
  ): { value: string };
}

const LANGUAGES = [
  'bash',
  'c',
  'cpp',
  'css',
  'diff',
  'dockerfile',
  'go',
  'ini',
  'java',
  'javascript',
  'json',
  'lua',
  'makefile',
  'markdown',
  'nginx',
  'perl',
  'php',
  'properties',
  'python',
  'ruby',
  'rust',
  'sql',
  'typescript',
  'xml',
  'yaml',
] as const;
type Language = (typeof LANGUAGES)[number];

let loaded: Highlighter | undefined;

/**
 * highlight.js's core and these languages, required on first use. Required, not
 * imported: the package's own types pull the DOM library into the whole project's type
 * check, and a run that shows no file should not read it: nothing imports it, so the CLI
 * bundle leaves it in node_modules and no other command pays for it.
 */
function highlighter(): Highlighter {
  if (loaded) return loaded;
  const load = createRequire(import.meta.url);
  const hljs = load('highlight.js/lib/core') as Highlighter;
  for (const name of LANGUAGES) {
    hljs.registerLanguage(name, load(`highlight.js/lib/languages/${name}`));
  }
  loaded = hljs;
  return hljs;
}

/** Languages by file extension (lower case). */
const BY_EXTENSION: Record<string, Language> = {
  sh: 'bash',
  bash: 'bash',
  zsh: 'bash',
  c: 'c',
  h: 'c',
  cc: 'cpp',
  cpp: 'cpp',
  cxx: 'cpp',
  hpp: 'cpp',
  css: 'css',
  diff: 'diff',
  patch: 'diff',
  go: 'go',
  ini: 'ini',
  cfg: 'ini',
  conf: 'ini',
  toml: 'ini',
  service: 'ini',
  java: 'java',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  json: 'json',
  lua: 'lua',
  mk: 'makefile',
  md: 'markdown',
  markdown: 'markdown',
  pl: 'perl',
  pm: 'perl',
  php: 'php',
  properties: 'properties',
  py: 'python',
  rb: 'ruby',
  rs: 'rust',
  sql: 'sql',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'typescript',
  xml: 'xml',
  html: 'xml',
  htm: 'xml',
  svg: 'xml',
  yaml: 'yaml',
  yml: 'yaml',
};

/** Languages by whole file name. */
const BY_NAME: Record<string, Language> = {
  dockerfile: 'dockerfile',
  containerfile: 'dockerfile',
  makefile: 'makefile',
  gnumakefile: 'makefile',
  'nginx.conf': 'nginx',
  '.bashrc': 'bash',
  '.profile': 'bash',
  '.bash_profile': 'bash',
};

/** Interpreters of a `#!` line. */
const BY_INTERPRETER: Record<string, Language> = {
  sh: 'bash',
  bash: 'bash',
  dash: 'bash',
  ash: 'bash',
  zsh: 'bash',
  node: 'javascript',
  python: 'python',
  python3: 'python',
  perl: 'perl',
  ruby: 'ruby',
  php: 'php',
  lua: 'lua',
};

/** The language of a file, by its name, else its `#!` line; `undefined` when unknown. */
export function languageOf(path: string, text: string): Language | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const byName = BY_NAME[name];
  if (byName) return byName;
  const dot = name.lastIndexOf('.');
  const byExt = dot > 0 ? BY_EXTENSION[name.slice(dot + 1)] : undefined;
  if (byExt) return byExt;
  // `#!/bin/sh`, `#!/usr/bin/env python3 -u`
  const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(text);
  if (!shebang) return undefined;
  const program = shebang[1]!.slice(shebang[1]!.lastIndexOf('/') + 1);
  const interpreter = program === 'env' ? (shebang[2] ?? '') : program;
  return BY_INTERPRETER[interpreter.replace(/[\d.]+$/, '')] ?? BY_INTERPRETER[interpreter];
}

/** A file's text as highlighted HTML, with the language found. */
export interface Highlighted {
  language: Language;
  /** HTML: the text escaped, in `<span class="hljs-…">` runs. */
  html: string;
}

/**
 * Highlight `text` (the start of the file at `path`) when its language is known;
 * `undefined` otherwise (the page shows it plain). highlight.js escapes the text itself.
 */
export function highlightFile(path: string, text: string): Highlighted | undefined {
  const language = languageOf(path, text);
  if (!language) return undefined;
  return {
    language,
    html: highlighter().highlight(text, { language, ignoreIllegals: true }).value,
  };
}
