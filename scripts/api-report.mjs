#!/usr/bin/env node
// The public API report: one file per entry point in etc/api/ (api-extractor analyses
// one entry point per run, so this runs it once per entry of package.json "exports",
// sharing one compiled program). Run after `npm run build`.
//
//   node scripts/api-report.mjs           check: fails when the API differs from the
//                                         committed report, or when a type used in a
//                                         public signature is not exported
//   node scripts/api-report.mjs --update  rewrite the reports after an intended change
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CompilerState,
  ConsoleMessageId,
  Extractor,
  ExtractorConfig,
} from '@microsoft/api-extractor';

const update = process.argv.includes('--update');
const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
const entries = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target === 'object')
  .map(([subpath, target]) => ({
    name: subpath === '.' ? 'ocipeek' : `ocipeek-${subpath.slice(2)}`,
    dts: resolve(root, target.types),
  }));

mkdirSync(resolve(root, 'etc/api'), { recursive: true });
const configs = entries.map(({ name, dts }) =>
  ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: dts,
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            lib: ['ES2023', 'esnext.disposable'],
            types: ['node'],
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            skipLibCheck: true,
          },
          include: ['dist'],
        },
      },
      apiReport: {
        enabled: true,
        reportFileName: `${name}.api.md`,
        reportFolder: resolve(root, 'etc/api'),
        reportTempFolder: resolve(root, '.cache/api-report'),
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          // A type in a public signature that importers cannot name. Checked on the root
          // entry, the union of all: a subpath may use a sibling subpath's types.
          'ae-forgotten-export': {
            logLevel: name === 'ocipeek' ? 'error' : 'none',
            addToApiReportFile: false,
          },
          // Documentation is reviewed, not counted here; links to internal names are fine.
          'ae-undocumented': { logLevel: 'none' },
          'ae-unresolved-link': { logLevel: 'none' },
          // The project does not tag release stages (@public/@beta).
          'ae-missing-release-tag': { logLevel: 'none' },
        },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: undefined,
    packageJsonFullPath: resolve(root, 'package.json'),
  }),
);

const compilerState = CompilerState.create(configs[0], {
  additionalEntryPoints: configs.map((c) => c.mainEntryPointFilePath),
});
let failed = 0;
for (const config of configs) {
  const result = Extractor.invoke(config, {
    localBuild: update,
    compilerState,
    showVerboseMessages: false,
    messageCallback: (message) => {
      // "Analysis will use the bundled TypeScript version", once per entry: noise.
      if (message.messageId === ConsoleMessageId.CompilerVersionNotice) message.handled = true;
    },
  });
  if (!result.succeeded) {
    failed++;
    console.error(
      `${config.reportFilePath}: ${result.errorCount} errors, ${result.warningCount} warnings` +
        (result.apiReportChanged && !update
          ? ' (the API changed: run `node scripts/api-report.mjs --update` and commit etc/api/)'
          : ''),
    );
  }
}
if (failed > 0) process.exit(1);
console.log(`API report: ${configs.length} entry points ${update ? 'written' : 'unchanged'}`);
