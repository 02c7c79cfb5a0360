//! What the plugin keeps on disk, under OpenClaw's state directory: the rejections it learned
//! (a backend refused a model for a plan; `classify-error`'s `remember`), so that the next turn,
//! a new process for `openclaw agent --local`, no longer tries that model; and the decision log,
//! one JSON line per decision, for an operator to read why a turn went where it went.
//!
//! Neither ever holds a secret: the policy sees credentials only as descriptions, and every
//! line written here comes from its answers or from those descriptions.

import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The most rejections kept: a real account meets a handful; a bound keeps the file small. */
const MAX_REJECTIONS = 256;

/** Learned rejections, persisted in one JSON file (written whole, by rename). */
export class RejectionStore {
  #path;

  /** @param {string} path the state file */
  constructor(path) {
    this.#path = path;
  }

  /**
   * The rejections learned so far, as `filter-fallbacks` takes them. An unreadable file is
   * taken as none, and left for the next write to replace: a lost rejection costs one refused
   * request, a crash would cost the turn.
   * @returns {{model: string, plan: string, reason: string}[]}
   */
  list() {
    try {
      const state = JSON.parse(readFileSync(this.#path, 'utf8'));
      return Array.isArray(state.rejections) ? state.rejections.filter(isRejection) : [];
    } catch {
      return [];
    }
  }

  /**
   * Adds a rejection; returns whether it was new.
   * @param {{model: string, plan: string, reason: string}} rejection
   */
  add(rejection) {
    const known = this.list();
    if (known.some((r) => r.model === rejection.model && r.plan === rejection.plan)) return false;
    const rejections = [...known, { model: rejection.model, plan: rejection.plan, reason: rejection.reason }].slice(-MAX_REJECTIONS);
    mkdirSync(dirname(this.#path), { recursive: true });
    const next = `${this.#path}.${process.pid}.tmp`;
    writeFileSync(next, `${JSON.stringify({ rejections }, null, 1)}\n`, { mode: 0o600 });
    renameSync(next, this.#path);
    return true;
  }
}

function isRejection(r) {
  return r && typeof r.model === 'string' && typeof r.plan === 'string' && typeof r.reason === 'string';
}

/** The decision log: appends one JSON line per event. A write that fails is reported, never fatal. */
export class DecisionLog {
  #path;
  #warn;

  /**
   * @param {string} path the JSON Lines file
   * @param {(message: string) => void} warn where a failed write is reported
   */
  constructor(path, warn) {
    this.#path = path;
    this.#warn = warn;
    mkdirSync(dirname(path), { recursive: true });
  }

  /**
   * Appends `{at, op, ...entry}`.
   * @param {string} op what happened: `load`, `reload`, `plan`, `route`, `classify`, `notice`, …
   * @param {Record<string, unknown>} entry
   */
  write(op, entry) {
    try {
      appendFileSync(this.#path, `${JSON.stringify({ at: new Date().toISOString(), op, ...entry })}\n`, { mode: 0o600 });
    } catch (e) {
      this.#warn(`route-policy: cannot write the decision log ${this.#path}: ${e.message}`);
    }
  }
}
