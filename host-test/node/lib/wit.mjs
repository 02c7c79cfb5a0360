//! The WIT vocabulary, read from `wit/route-policy.wit`: the contract version, and every record
//! and enum with its fields or cases in order. The codec derives the JSON mapping from it, as
//! the wasmtime host's bindings are generated from the same file.

import { readFileSync } from 'node:fs';

/** Where the WIT is, beside this package in the repository. */
export const WIT_PATH = new URL('../../../wit/route-policy.wit', import.meta.url);

/**
 * Parses the parts of WIT this contract uses: `package`, `enum`, `record` and `func` items.
 * @param {string} text
 * @returns {{version: string, enums: Map<string, string[]>, records: Map<string, [string, string][]>, funcs: Map<string, {params: [string, string][], result: string | null}>}}
 */
export function parseWit(text) {
  const code = text
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, ''))
    .join('\n');
  const version = /package\s+[\w:-]+@([\w.-]+)\s*;/.exec(code)?.[1];
  if (!version) throw new Error('the WIT names no package version');
  const enums = new Map();
  for (const [, name, body] of code.matchAll(/\benum\s+([\w-]+)\s*\{([^}]*)\}/g)) {
    enums.set(name, body.split(',').map((c) => c.trim()).filter(Boolean));
  }
  const records = new Map();
  for (const [, name, body] of code.matchAll(/\brecord\s+([\w-]+)\s*\{([^}]*)\}/g)) {
    records.set(
      name,
      splitTop(body)
        .filter((f) => f.includes(':'))
        .map((f) => {
          const at = f.indexOf(':');
          return [f.slice(0, at).trim(), f.slice(at + 1).replace(/\s+/g, ' ').trim()];
        }),
    );
  }
  const funcs = new Map();
  for (const [, name, params, result] of code.matchAll(/([\w-]+)\s*:\s*func\s*\(([^)]*)\)\s*(?:->\s*([^;]+))?;/g)) {
    funcs.set(name, {
      params: splitTop(params)
        .filter((p) => p.includes(':'))
        .map((p) => p.split(':').map((s) => s.trim())),
      result: result?.replace(/\s+/g, ' ').trim() ?? null,
    });
  }
  return { version, enums, records, funcs };
}

/** Splits `a, b<c, d>, e` at its top-level commas. */
export function splitTop(text) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let at = 0; at < text.length; at++) {
    const c = text[at];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, at).trim());
      start = at + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter(Boolean);
}

/** `T` of `name<T>`, if `ty` is one. */
export function generic(ty, name) {
  return ty.startsWith(`${name}<`) && ty.endsWith('>') ? ty.slice(name.length + 1, -1).trim() : null;
}

/** The vocabulary of this repository's WIT, read once. */
export const WIT = parseWit(readFileSync(WIT_PATH, 'utf8'));
