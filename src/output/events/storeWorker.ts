/**
 * The event store's worker thread: owns the SQLite database and the snapshot files, so no disk
 * write or query ever runs on the main thread. A database that cannot be opened (a missing or
 * read-only disk) is tried again on later requests, at most every few seconds; until then each
 * request answers with the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventDb } from './eventDb.js';
import type { StoreReply, StoreRequest, StoreWorkerData } from './storeProtocol.js';

const REOPEN_INTERVAL_MS = 5000;

const data = workerData as StoreWorkerData;
let db: EventDb | undefined;
let openError = '';
let lastOpenTry = -Infinity;

function open(): EventDb {
  if (db) return db;
  if (Date.now() - lastOpenTry >= REOPEN_INTERVAL_MS) {
    lastOpenTry = Date.now();
    try {
      db = new EventDb(data.dir, data);
      openError = '';
      return db;
    } catch (err) {
      openError = `cannot open the event store in ${data.dir}: ${(err as Error).message}`;
    }
  }
  throw new Error(openError);
}

function handle(msg: StoreRequest): unknown {
  switch (msg.op) {
    case 'insert':
      return open().insert(msg.batch, msg.receivedMs);
    case 'query':
      return open().query(msg.filter);
    case 'snapshot':
      return open().snapshot(msg.id);
    case 'retain':
      return open().retain(msg.nowMs);
    case 'close':
      db?.close();
      db = undefined;
      return undefined;
  }
}

parentPort!.on('message', (msg: StoreRequest) => {
  let reply: StoreReply;
  try {
    reply = { req: msg.req, value: handle(msg) };
  } catch (err) {
    reply = { req: msg.req, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
  if (msg.op === 'close') parentPort!.close();
});

// Open at once, so a bad data folder is reported at startup rather than at the first event.
try {
  open();
} catch (err) {
  parentPort!.postMessage({ req: 0, error: (err as Error).message } satisfies StoreReply);
}
