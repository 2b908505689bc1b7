#!/usr/bin/env node
// @ts-check
// A throwaway PostgreSQL 18 + pgvector for development and measurements: PGlite (PostgreSQL in
// WebAssembly, a dev dependency) served over the wire protocol on loopback. Prints the URL to use
// with --store, then serves until interrupted. Not for production: PGlite accepts any user and
// password and runs one backend (transactions of different connections are serialised).
//   node scripts/pgliteServer.mjs [--port N] [--data DIR]   (default: port 0 = any free port, in memory)
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** @param {string} name */
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const db = await PGlite.create({ dataDir: arg('--data'), extensions: { vector } });
const server = new PGLiteSocketServer({ db, port: Number(arg('--port') ?? 0), host: '127.0.0.1', maxConnections: 16 });
await server.start();
// The listening port (the server may have been asked for port 0) is only on its private net.Server.
const { port } = /** @type {import('node:net').AddressInfo} */ (/** @type {{ server: import('node:net').Server }} */ (/** @type {unknown} */ (server)).server.address());
process.stdout.write(`postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable\n`);
const stop = async () => {
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
