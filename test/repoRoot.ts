import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The repository root, found from a test bundle's location (out/test/unit/x.test.js). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}
