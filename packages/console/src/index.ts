import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the built web console lives (`vite build` writes it to `dist/web/`): the API serves
 * this directory at `/console/`. Works from `src/` (tests) and from `dist/` alike.
 */
export function consoleAssetsDir(): string {
  return fileURLToPath(new URL('../dist/web/', import.meta.url));
}

/** True when the console has been built (the API answers 503 on /console/ otherwise). */
export function consoleBuilt(): boolean {
  return existsSync(`${consoleAssetsDir()}index.html`);
}
