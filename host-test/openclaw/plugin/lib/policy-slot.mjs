//! The policy the plugin serves, and its hot swap. At each turn the plugin asks `current()`: the
//! component file is read and hashed (a 0.5 MiB file hashes in about a millisecond, so this is
//! the real check, not a timestamp), and when its sha256 changed, the new bytes are verified
//! before they serve:
//!
//! 1. the sha256 must be one of the configured pins (when any are configured);
//! 2. the very bytes that were hashed are loaded (copied to a private file first, so that a file
//!    swapped again between the hash and the load cannot slip in), through the Node host, which
//!    checks the component's imports and contract;
//! 3. the canary (the hosts' shipped vector file, by default) must pass, each answer matched by
//!    the toolkit as every host matches it.
//!
//! A candidate that fails any step is refused and closed; the policy that served before keeps
//! serving. Since `openclaw agent --local` starts a new process at every turn, "before" is also
//! kept on disk: each component that passed every check is copied to the plugin's state
//! directory (`last-good.wasm`), and a process whose configured file is refused loads that copy
//! instead, after the same checks (its pin, the canary). With neither, the plugin fails closed:
//! the refs it owns stay off the wire. Every load, swap and refusal goes to the decision log.
//!
//! The Node host (`host-test/node/route-policy.mjs`) is imported from where it lies. OpenClaw
//! runs a plugin from a copy of its files, refuses a static import that leaves the plugin's
//! package, and copies whatever a plugin module imports by path; a copied Node host would lose
//! the worker file it starts (`lib/worker.mjs` is not an import) and its `node_modules`. An import
//! made from a `data:` module is not a plugin module's, so OpenClaw's loader hook lets it resolve
//! natively, to the file itself.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A policy swap in a host, as the plugin sees it. */
export class PolicySlot {
  #settings;
  #log;
  /** @type {any} the Node host's `Policy` */
  #policy = null;
  #sha256 = null;
  /** The digest last refused, so that a bad file is reported once, not at every turn. */
  #refused = null;
  #reason = null;
  #checking = null;

  /**
   * @param {import('./settings.mjs').Settings} settings
   * @param {import('./journal.mjs').DecisionLog} log
   */
  constructor(settings, log) {
    this.#settings = settings;
    this.#log = log;
  }

  /**
   * The policy to use for this turn, after checking the file for a swap; or null with `reason`
   * when none may serve.
   * @returns {Promise<any>} the Node host's `Policy`, or null
   */
  current() {
    // Concurrent turns share one check.
    this.#checking ??= this.#check().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  /** Why no policy serves, when `current()` gave null. */
  get reason() {
    return this.#reason;
  }

  async #check() {
    const path = this.#settings.component;
    let bytes;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      return this.#keep(`cannot read the policy component ${path}: ${e.message}`);
    }
    const sha256 = digest(bytes);
    if (sha256 === this.#sha256 || sha256 === this.#refused) return this.#policy ?? this.#keep(this.#reason);
    const refusal = await this.#verify(bytes, sha256, path);
    if (refusal) {
      this.#refused = sha256;
      this.#log.write('reload', { component: path, sha256, refused: refusal, serving: this.#sha256 });
      return this.#keep(`the policy component ${path} (sha256 ${sha256.slice(0, 12)}) was refused: ${refusal}`);
    }
    this.#remember(bytes);
    return this.#policy;
  }

  /** Keeps what served before: in this process, or else the last good copy; or says why nothing serves. */
  async #keep(reason) {
    if (this.#policy) return this.#policy;
    let copy;
    try {
      copy = readFileSync(this.#settings.lastGood);
    } catch {
      copy = null;
    }
    if (copy && !(await this.#verify(copy, digest(copy), this.#settings.lastGood))) return this.#policy;
    this.#reason = reason;
    return null;
  }

  /** Keeps a copy of a component that passed every check, for the next process. */
  #remember(bytes) {
    const path = this.#settings.lastGood;
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(`${path}.${process.pid}.tmp`, bytes, { mode: 0o600 });
      renameSync(`${path}.${process.pid}.tmp`, path);
    } catch (e) {
      this.#log.write('last-good', { path, refused: e.message });
    }
  }

  /** Verifies and loads `bytes` (read from `source`); swaps it in, or returns why not. */
  async #verify(bytes, sha256, source) {
    const pins = this.#settings.sha256;
    if (pins.length > 0 && !pins.includes(sha256)) {
      return `its sha256 ${sha256} is not pinned (sha256: ${pins.map((p) => p.slice(0, 12)).join(', ')})`;
    }
    const dir = mkdtempSync(join(tmpdir(), 'route-policy-openclaw-'));
    let candidate;
    try {
      const { loadPolicy, loadToolkit } = await importOutsidePlugin(this.#settings.nodeHost);
      const copy = join(dir, 'policy.wasm');
      writeFileSync(copy, bytes, { mode: 0o600 });
      candidate = await loadPolicy(copy, {
        toolkit: await loadToolkit(this.#settings.toolkit),
        allowHosts: this.#settings.allowHosts,
        deadlineMs: this.#settings.deadlineMs,
      });
    } catch (e) {
      return e.message;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const failed = await this.#canary(candidate);
    if (failed) {
      candidate.close();
      return failed;
    }
    const previous = this.#policy;
    this.#policy = candidate;
    this.#sha256 = sha256;
    this.#reason = null;
    this.#log.write(previous ? 'reload' : 'load', {
      component: source,
      sha256,
      revision: candidate.id.revision,
      contract: candidate.id.contract,
      previous: previous ? { sha256: previous.id.sha256, revision: previous.id.revision } : null,
      canary: this.#settings.canary,
    });
    previous?.close();
    return null;
  }

  /** Runs the canary; the failing cases in words, or null. */
  async #canary(policy) {
    if (this.#settings.canary === null) return null;
    let file;
    try {
      file = JSON.parse(readFileSync(this.#settings.canary, 'utf8'));
    } catch (e) {
      return `cannot read the canary ${this.#settings.canary}: ${e.message}`;
    }
    const failures = [];
    for (const testCase of file.cases ?? []) {
      const answer = await policy.callJson(testCase.op ?? file.op, testCase.input);
      const checked = policy.toolkit.checkCase(JSON.stringify(testCase.expect), testCase.never ?? [], answer);
      if (checked.err) failures.push(`${testCase.name}: ${checked.err}`);
    }
    return failures.length ? `it failed the canary (${failures.length} of ${file.cases.length}): ${failures.join('; ')}` : null;
  }

  /** Stops the policy's worker. */
  close() {
    this.#policy?.close();
    this.#policy = null;
  }
}

function digest(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Imports the module at `path` itself, not a copy (see the header). */
async function importOutsidePlugin(path) {
  const { default: load } = await import('data:text/javascript,export default (url) => import(url);');
  return load(pathToFileURL(path).href);
}
