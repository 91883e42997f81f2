import type { Contender } from '../measure.js';
import { ocipeek } from '../ocipeek.js';
import { ALL_VARIANTS } from '../variants.js';
import { compare } from './compare.js';
import type { BenchCase } from './types.js';

/**
 * What starting costs before any work: `ocipeek --version` (the executable, its launcher,
 * the bundle and commander) beside `node -e ''` (Node alone), in the user's environment and
 * in a clean one. Only the environment matters here, so it runs with HOME on the disk.
 */
export const startup: BenchCase = {
  id: 'startup',
  title: 'start-up: ocipeek --version and node -e ""',
  peer: "node -e ''",
  target: 'reported (ms)',
  variants: ALL_VARIANTS.filter((v) => v.medium === 'disk'),
  needs: [],
  minRuns: 30,
  async run(ctx) {
    const version: Contender = {
      name: 'ocipeek --version',
      command: () => ocipeek(ctx, ['--version']),
    };
    const node: Contender = {
      name: "node -e ''",
      command: () => ({ file: process.execPath, args: ['-e', ''] }),
    };
    const rows = await compare(ctx, {
      label: 'ocipeek --version',
      ocipeek: version,
      peers: [{ contender: node, countBytes: false }],
    });
    for (const r of rows) {
      r.amount = { value: r.ocipeek!.medianS * 1000, unit: 'ms' };
      r.target = 'reported';
      r.notes.push(`node -e '' alone: ${(r.peer!.medianS * 1000).toFixed(0)} ms`);
    }
    return rows;
  },
};
