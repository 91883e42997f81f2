import { parse } from '@ctrl/golang-template';
import { InvalidArgumentError } from '../errors/index.js';
import { precomputeFunctions } from './template-functions.js';

/*
 * `--format '{{.Digest}}'` templates, as skopeo and docker take them. Go's text/template
 * in full (pipelines, functions, variables) is a language of its own; what users write
 * on the command line is a field, a nested field, a range or a join. @ctrl/golang-template
 * (MIT, no dependencies, maintained) does that subset, so it is used rather than written
 * here: `{{.Field}}`, `{{.A.B}}`, `{{index .Labels "key"}}`, `{{join .RepoTags ","}}`,
 * `{{range .Layers}}{{.}} {{end}}` and `{{if .X}}…{{else}}…{{end}}`; `json`, `printf` and
 * `len` are added (template-functions.ts). Anything else is a usage error naming the
 * template.
 */

/** Render `template` over `data`; a template outside the subset is an {@link InvalidArgumentError}. */
export function renderTemplate(template: string, data: Record<string, unknown>): string {
  const ready = precomputeFunctions(template, data);
  try {
    return parse(ready.template, ready.data);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new InvalidArgumentError(`--format ${JSON.stringify(template)}: ${why}`);
  }
}

/** True when `template` names `field` (so it is worth fetching). */
export function templateUses(template: string, field: string): boolean {
  return new RegExp(`\\.${field}\\b`).test(template);
}
