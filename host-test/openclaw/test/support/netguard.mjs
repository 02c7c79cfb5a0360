//! Preloaded into every OpenClaw process the tests start (`--import`): every TCP connection
//! OpenClaw (or the plugin) opens to anything but the loopback interface is refused before a
//! byte leaves, and written to `ROUTE_POLICY_NETGUARD_LOG`, which the tests assert is empty. So
//! "OpenClaw must not reach the internet" is checked, not hoped for: an update check, telemetry,
//! a model catalog refresh or a credential sent to the wrong host would each show up here.
//! Name lookups are refused the same way.

import { appendFileSync } from 'node:fs';
import dns from 'node:dns';
import net from 'node:net';

const LOG = process.env.ROUTE_POLICY_NETGUARD_LOG;

function loopback(host) {
  if (host === undefined || host === null || host === '') return true; // Node's default is localhost
  const name = String(host).replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name) || name.startsWith('::ffff:127.');
}

function record(kind, target) {
  if (LOG) appendFileSync(LOG, `${JSON.stringify({ kind, target, pid: process.pid })}\n`);
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const options = typeof args[0] === 'object' && args[0] !== null ? (Array.isArray(args[0]) ? args[0][0] : args[0]) : { port: args[0], host: args[1] };
  if (options && options.path === undefined && !loopback(options.host)) {
    record('connect', `${options.host}:${options.port}`);
    process.nextTick(() => this.destroy(Object.assign(new Error(`netguard: ${options.host} is not loopback`), { code: 'ECONNREFUSED' })));
    return this;
  }
  return connect.apply(this, args);
};

const lookup = dns.lookup;
dns.lookup = function guardedLookup(host, ...rest) {
  if (!loopback(host)) {
    record('lookup', host);
    const callback = rest.at(-1);
    process.nextTick(() => callback(Object.assign(new Error(`netguard: no lookups of ${host}`), { code: 'ENOTFOUND' })));
    return undefined;
  }
  return lookup.call(this, host, ...rest);
};
const lookupAsync = dns.promises.lookup;
dns.promises.lookup = async function guardedLookupAsync(host, ...rest) {
  if (!loopback(host)) {
    record('lookup', host);
    throw Object.assign(new Error(`netguard: no lookups of ${host}`), { code: 'ENOTFOUND' });
  }
  return lookupAsync.call(this, host, ...rest);
};
