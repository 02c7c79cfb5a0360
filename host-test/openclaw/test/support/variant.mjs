//! A second policy, built from edited rule data, for the hot-swap scenario: as the Rust tests'
//! `policy_variant` (host-test/tests/integration/common.rs) builds one, with
//! `ROUTE_POLICY_RULES_DIR` pointing at a copy of `guest/rules` and a target directory of its own,
//! so that the component the other tests use is never rebuilt. A prebuilt variant can be given
//! in `ROUTE_POLICY_OPENCLAW_VARIANT` instead (CI may build it once, beside the others).

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './paths.mjs';

/** The shipped rules' revision (`guest/rules/policy.toml`). */
const SHIPPED = readFileSync(join(REPO, 'guest', 'rules', 'policy.toml'), 'utf8').match(/^revision = "(.*)"$/m)[1];

/** The variant's revision, as `policy-info` reports it: newer than the shipped one. */
export const VARIANT_REVISION = `${SHIPPED}-openclaw-swap`;

/**
 * The variant: the shipped rules, except that the Codex route no longer serves gpt-5.4-mini
 * (`codex.suppressed-models`), a rule update of the kind the policy exists to ship.
 * @returns {string} the variant component's path
 */
export function suppressingVariant() {
  if (process.env.ROUTE_POLICY_OPENCLAW_VARIANT) return process.env.ROUTE_POLICY_OPENCLAW_VARIANT;
  const rules = mkdtempSync(join(tmpdir(), 'route-policy-openclaw-rules-'));
  try {
    for (const file of readdirSync(join(REPO, 'guest', 'rules'))) {
      let text = readFileSync(join(REPO, 'guest', 'rules', file), 'utf8');
      if (file === 'policy.toml') text = text.replace(/^revision = .*$/m, `revision = ${JSON.stringify(VARIANT_REVISION)}`);
      if (file === 'models.toml') {
        const edited = text.replace('"gpt-5.1", "gpt-5.1-codex",', '"gpt-5.4-mini", "gpt-5.1", "gpt-5.1-codex",');
        if (edited === text) throw new Error('guest/rules/models.toml no longer lists the suppressed models this edit extends');
        text = edited;
      }
      writeFileSync(join(rules, file), text);
    }
    const env = { ...process.env, ROUTE_POLICY_RULES_DIR: rules };
    for (const scrub of ['RUSTFLAGS', 'CARGO_ENCODED_RUSTFLAGS', 'CARGO_TARGET_DIR', 'CARGO_BUILD_TARGET', 'LLVM_PROFILE_FILE']) delete env[scrub];
    const targetDir = join(REPO, 'target', 'guest-wasm-openclaw-swap');
    // Seeded from the main guest build, whose dependencies are the variant's: cargo then
    // recompiles only the guest crate (seconds), not its dependencies (minutes on two cores).
    const main = join(REPO, 'target', 'guest-wasm');
    if (!existsSync(targetDir) && existsSync(main)) cpSync(main, targetDir, { recursive: true, verbatimSymlinks: true });
    execFileSync(
      process.env.CARGO ?? 'cargo',
      ['build', '--locked', '-p', 'route-policy-guest', '--target', 'wasm32-wasip2', '--profile', 'guest', '--target-dir', targetDir],
      { cwd: REPO, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 480_000 },
    );
    return join(targetDir, 'wasm32-wasip2', 'guest', 'route_policy_guest.wasm');
  } finally {
    rmSync(rules, { recursive: true, force: true });
  }
}
