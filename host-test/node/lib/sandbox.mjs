//! The sandbox a policy (and the toolkit, `lib/toolkit.mjs`) runs in under Node:
//! preview2-shim's `WASIShim` with no preopens, no environment, no arguments and no network,
//! and the few interfaces a policy may import replaced where the shim would reach the host.
//!
//! The shim's `wasi:cli` streams read file descriptor 0 and write 1 and 2 directly, and its
//! `initial-cwd` is the host's working directory. In a host that speaks JSON Lines on stdio
//! that would let a policy read the requests and forge answers, so here stdin is empty, stdout
//! and stderr go to a bounded buffer the host reads after a trap (as the wasmtime host's
//! stderr pipe), the working directory is unknown, and `exit` stops the call instead of the
//! process. These replacements are `wasi:io` resources of this module's own, so the shim's
//! I/O worker thread is never started.

import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';

/**
 * The only interfaces a policy may import, as the wasmtime host's sandbox allows them
 * (`host-test/src/sandbox.rs`): stdio, environment and exit, nothing that reaches files,
 * sockets, clocks or randomness.
 */
export const ALLOWED_IMPORTS = [
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
];

/** The most a policy may print per call; the rest is dropped (as the wasmtime host's pipe). */
export const MAX_PRINTED_BYTES = 4096;

/** Thrown through the guest when it calls `exit`: the call fails, the host goes on. */
export class GuestExit extends Error {
  constructor(status) {
    super(`the policy called exit (${status?.tag === 'err' ? 'failure' : 'success'})`);
    this.name = 'GuestExit';
  }
}

class IoError {
  toDebugString() {
    return 'closed';
  }
}

class Pollable {
  ready() {
    return true;
  }
  block() {}
}

class InputStream {
  read() {
    throw { tag: 'closed' };
  }
  blockingRead() {
    throw { tag: 'closed' };
  }
  skip() {
    throw { tag: 'closed' };
  }
  blockingSkip() {
    throw { tag: 'closed' };
  }
  subscribe() {
    return new Pollable();
  }
}

/** An output stream into a bounded buffer. */
class OutputStream {
  #sink;
  constructor(sink) {
    this.#sink = sink;
  }
  checkWrite() {
    return 65536n;
  }
  write(bytes) {
    this.#sink.push(bytes);
  }
  blockingWriteAndFlush(bytes) {
    this.#sink.push(bytes);
  }
  flush() {}
  blockingFlush() {}
  writeZeroes(n) {
    this.#sink.push(new Uint8Array(Number(n)));
  }
  blockingWriteZeroesAndFlush(n) {
    this.#sink.push(new Uint8Array(Number(n)));
  }
  splice() {
    throw { tag: 'closed' };
  }
  blockingSplice() {
    throw { tag: 'closed' };
  }
  subscribe() {
    return new Pollable();
  }
}

class TerminalInput {}
class TerminalOutput {}

/** What a policy printed during a call, kept up to `MAX_PRINTED_BYTES`. */
export class Printed {
  #chunks = [];
  #bytes = 0;
  push(bytes) {
    const room = MAX_PRINTED_BYTES - this.#bytes;
    if (room <= 0) return;
    const kept = bytes.subarray(0, room);
    this.#chunks.push(Uint8Array.from(kept));
    this.#bytes += kept.length;
  }
  take() {
    const text = Buffer.concat(this.#chunks).toString('utf8').trim();
    this.#chunks = [];
    this.#bytes = 0;
    return text;
  }
}

/**
 * The import object for one policy instance, and the buffer its output goes to.
 * @returns {{imports: Record<string, object>, printed: Printed}}
 */
export function sandbox() {
  const printed = new Printed();
  const output = new OutputStream(printed);
  const input = new InputStream();
  const cli = {
    environment: { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    exit: {
      exit(status) {
        throw new GuestExit(status);
      },
    },
    stdin: { getStdin: () => input },
    stdout: { getStdout: () => output },
    stderr: { getStderr: () => output },
    terminalInput: { TerminalInput },
    terminalOutput: { TerminalOutput },
    terminalStdin: { getTerminalStdin: () => undefined },
    terminalStdout: { getTerminalStdout: () => undefined },
    terminalStderr: { getTerminalStderr: () => undefined },
  };
  const io = {
    error: { Error: IoError },
    poll: { Pollable, poll: (list) => Uint32Array.from(list, (_, at) => at) },
    streams: { InputStream, OutputStream },
  };
  const shim = new WASIShim({ cli, io, sandbox: { preopens: {}, env: {}, args: [], enableNetwork: false } });
  const unversioned = shim.getImportObject();
  // jco asks for interfaces by name, with or without their version: offer both.
  const imports = {};
  for (const [name, value] of Object.entries(unversioned)) {
    imports[name] = value;
    imports[`${name}@0.2.6`] = value;
  }
  return { imports, printed };
}
