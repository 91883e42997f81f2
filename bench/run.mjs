// `npm run bench` entry: load the TypeScript bench through tsx (a dev dependency already),
// so package.json's script stays `node bench/run.mjs`.
import { register } from 'tsx/esm/api';

register();
await import('./run.ts');
