// Lets `node --import ./loadtest/engine/ts-register.js file.ts` run a TypeScript benchmark: each .ts module is
// transpiled (types stripped, no type check) with the repository's own `typescript`. Type checking is done by
// `npx tsc -p loadtest` / eslint as for any other source.
import { register } from 'node:module';

register('./ts-hooks.js', import.meta.url);
