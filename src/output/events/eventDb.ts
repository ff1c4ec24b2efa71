/**
 * The event store's database: SQLite through better-sqlite3 (synchronous; it runs in the store's
 * worker thread, storeWorker.ts, never on the main thread). One table of events, each with its JSON
 * as it was published, and snapshot JPEGs as files beside it:
 *
 *   <dir>/events.db              events (WAL journal)
 *   <dir>/snapshots/<id>.jpg     the frame of an event with the object's box drawn
 *
 * Retention deletes events older than `retentionDays` and the oldest beyond `maxRows`, with their
 * snapshots; snapshots together stay under `maxSnapshotBytes` (the oldest go first, their events
 * stay). Snapshot files whose event is gone (a crash between the two deletes) are removed at open.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalyticsEvent } from '../../types.js';
import type { EventFilter } from './eventQuery.js';

export interface EventDbLimits {
  /** 0 = no age limit. */
  retentionDays: number;
  /** 0 = no row limit. */
  maxRows: number;
  maxSnapshotBytes: number;
}

/** An event to insert, with the JPEG of its snapshot when there is one. */
export interface NewEvent {
  event: AnalyticsEvent;
  snapshot?: Uint8Array;
}

export interface InsertResult {
  /** Events stored (ids already stored are skipped). */
  stored: number;
  snapshots: number;
  /** Snapshots that could not be written (their events are stored without). */
  snapshotErrors: number;
}

export interface StoredEvent {
  event: AnalyticsEvent;
  snapshot: boolean;
}

/** Event ids become file names only when they are this plain (UUIDs are). */
const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;
const DAY_MS = 86_400_000;
const SCHEMA_VERSION = 1;

interface Row {
  seq: number;
  id: string;
  json: string;
  snapshot_bytes: number;
}

export class EventDb {
  private readonly db: Database.Database;
  private readonly snapshotDir: string;
  private rows: number;
  private snapshotBytes: number;
  private readonly insertStmt: Database.Statement;
  private readonly setSnapshotStmt: Database.Statement;
  private readonly existsStmt: Database.Statement;

  constructor(
    readonly dir: string,
    private readonly limits: EventDbLimits,
  ) {
    this.snapshotDir = join(dir, 'snapshots');
    mkdirSync(this.snapshotDir, { recursive: true });
    this.db = new Database(join(dir, 'events.db'));
    try {
      // WAL: readers do not wait for the writer; NORMAL: commits do not fsync (a power cut may lose
      // the last moments, never corrupt the file).
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw new Error(`${join(dir, 'events.db')} has schema version ${version}, newer than this streamlens (${SCHEMA_VERSION})`);
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS events (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL UNIQUE,
          stream TEXT NOT NULL,
          type TEXT NOT NULL,
          label TEXT NOT NULL,
          ts INTEGER NOT NULL,
          json TEXT NOT NULL,
          snapshot_bytes INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
        CREATE INDEX IF NOT EXISTS events_stream_ts ON events (stream, ts);
        PRAGMA user_version = ${SCHEMA_VERSION};
      `);
      this.insertStmt = this.db.prepare('INSERT OR IGNORE INTO events (id, stream, type, label, ts, json, snapshot_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)');
      this.setSnapshotStmt = this.db.prepare('UPDATE events SET snapshot_bytes = ? WHERE id = ?');
      this.existsStmt = this.db.prepare('SELECT 1 FROM events WHERE id = ?');
      this.rows = (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      this.snapshotBytes = this.sumSnapshotBytes();
      this.removeOrphanSnapshots();
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  get size(): { rows: number; snapshotBytes: number } {
    return { rows: this.rows, snapshotBytes: this.snapshotBytes };
  }

  /**
   * Inserts a batch in one transaction (an event whose id is already stored is skipped) and
   * writes its snapshots; applies the row and snapshot limits. A snapshot that cannot be written
   * leaves its event stored without one. `receivedMs` stands in for the time of events that have
   * none (recorded files).
   */
  insert(batch: NewEvent[], receivedMs: number): InsertResult {
    const result: InsertResult = { stored: 0, snapshots: 0, snapshotErrors: 0 };
    const written: string[] = [];
    try {
      this.db.transaction(() => {
        for (const { event, snapshot } of batch) {
          const time = event.time === undefined ? NaN : Date.parse(event.time);
          const ts = Number.isFinite(time) ? time : receivedMs;
          let bytes = 0;
          if (snapshot && SAFE_ID.test(event.id) && !this.stored(event.id)) {
            try {
              this.writeSnapshot(event.id, snapshot);
              written.push(event.id);
              bytes = snapshot.length;
            } catch {
              result.snapshotErrors++;
            }
          }
          if (this.insertStmt.run(event.id, event.stream, event.type, event.label, ts, JSON.stringify(event), bytes).changes === 0) continue;
          result.stored++;
          if (bytes > 0) result.snapshots++;
          this.snapshotBytes += bytes;
        }
      })();
    } catch (err) {
      // The rows are rolled back: so are their files.
      for (const id of written) rmSync(this.snapshotFile(id), { force: true });
      this.snapshotBytes = this.sumSnapshotBytes();
      throw err;
    }
    this.rows += result.stored;
    if (this.limits.maxRows > 0 && this.rows > this.limits.maxRows) this.deleteOldest(this.rows - this.limits.maxRows);
    if (this.snapshotBytes > this.limits.maxSnapshotBytes) this.trimSnapshots();
    return result;
  }

  /** Newest first (event time, then insertion order). */
  query(filter: EventFilter): StoredEvent[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (filter.stream !== undefined) (where.push('stream = ?'), args.push(filter.stream));
    if (filter.type !== undefined) (where.push('type = ?'), args.push(filter.type));
    if (filter.label !== undefined) (where.push('label = ?'), args.push(filter.label));
    if (filter.since !== undefined) (where.push('ts >= ?'), args.push(filter.since));
    if (filter.until !== undefined) (where.push('ts < ?'), args.push(filter.until));
    const sql = `SELECT json, snapshot_bytes FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ts DESC, seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit) as Array<Pick<Row, 'json' | 'snapshot_bytes'>>;
    return rows.map((r) => ({ event: JSON.parse(r.json) as AnalyticsEvent, snapshot: r.snapshot_bytes > 0 }));
  }

  /** The snapshot JPEG of an event; undefined when the event or its snapshot is not stored. */
  snapshot(id: string): Buffer | undefined {
    const row = this.db.prepare('SELECT snapshot_bytes FROM events WHERE id = ?').get(id) as Pick<Row, 'snapshot_bytes'> | undefined;
    if (!row || row.snapshot_bytes === 0) return undefined;
    try {
      return readFileSync(this.snapshotFile(id));
    } catch {
      return undefined;
    }
  }

  /** Deletes events older than retentionDays (and their snapshots). Returns the events deleted. */
  retain(nowMs: number): number {
    if (this.limits.retentionDays <= 0) return 0;
    const cutoff = nowMs - this.limits.retentionDays * DAY_MS;
    const [doomed, n] = this.db.transaction(() => [
      this.db.prepare('SELECT id, snapshot_bytes FROM events WHERE ts < ? AND snapshot_bytes > 0').all(cutoff) as Array<Pick<Row, 'id' | 'snapshot_bytes'>>,
      this.db.prepare('DELETE FROM events WHERE ts < ?').run(cutoff).changes,
    ] as const)();
    this.forgetSnapshots(doomed);
    this.rows -= n;
    return n;
  }

  close(): void {
    this.db.close();
  }

  private stored(id: string): boolean {
    return this.existsStmt.get(id) !== undefined;
  }

  private sumSnapshotBytes(): number {
    return (this.db.prepare('SELECT coalesce(sum(snapshot_bytes), 0) AS n FROM events').get() as { n: number }).n;
  }

  private deleteOldest(n: number): void {
    const doomed = this.db.prepare('SELECT seq, id, snapshot_bytes FROM events ORDER BY seq LIMIT ?').all(n) as Array<Pick<Row, 'seq' | 'id' | 'snapshot_bytes'>>;
    if (!doomed.length) return;
    const deleted = this.db.prepare('DELETE FROM events WHERE seq <= ?').run(doomed[doomed.length - 1].seq).changes;
    this.forgetSnapshots(doomed.filter((d) => d.snapshot_bytes > 0));
    this.rows -= deleted;
  }

  /** Deletes the oldest snapshots (their events stay) until the total is under the limit. */
  private trimSnapshots(): void {
    const oldest = this.db.prepare('SELECT id, snapshot_bytes FROM events WHERE snapshot_bytes > 0 ORDER BY seq').iterate() as IterableIterator<Pick<Row, 'id' | 'snapshot_bytes'>>;
    const doomed: Array<Pick<Row, 'id' | 'snapshot_bytes'>> = [];
    let total = this.snapshotBytes;
    for (const row of oldest) {
      if (total <= this.limits.maxSnapshotBytes) break;
      doomed.push(row);
      total -= row.snapshot_bytes;
    }
    const clear = this.setSnapshotStmt;
    this.db.transaction(() => doomed.forEach((d) => clear.run(0, d.id)))();
    this.forgetSnapshots(doomed);
  }

  private forgetSnapshots(rows: Array<Pick<Row, 'id' | 'snapshot_bytes'>>): void {
    for (const r of rows) {
      rmSync(this.snapshotFile(r.id), { force: true });
      this.snapshotBytes -= r.snapshot_bytes;
    }
  }

  private writeSnapshot(id: string, jpeg: Uint8Array): void {
    // Written aside and renamed: a reader never sees half a file.
    const tmp = this.snapshotFile(id) + '.tmp';
    writeFileSync(tmp, jpeg);
    renameSync(tmp, this.snapshotFile(id));
  }

  private snapshotFile(id: string): string {
    return join(this.snapshotDir, `${id}.jpg`);
  }

  private removeOrphanSnapshots(): void {
    const known = this.db.prepare('SELECT 1 FROM events WHERE id = ? AND snapshot_bytes > 0');
    for (const name of readdirSync(this.snapshotDir)) {
      const id = name.replace(/\.jpg$/, '');
      if (name.endsWith('.tmp') || !name.endsWith('.jpg') || !known.get(id)) rmSync(join(this.snapshotDir, name), { force: true });
    }
  }
}
