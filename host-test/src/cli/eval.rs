//! `route-policy eval`: JSON Lines in, one JSON answer per line out, in order.
//!
//! Every input line gets exactly one output line, whatever it holds: a malformed line, a
//! non-UTF-8 line or an over-long line is answered with an `invalid-input` error, and the stream
//! goes on. Output is flushed whenever the input has nothing more buffered (checked without
//! reading), so an interactive host sees each answer at once while a batch is written in large
//! chunks.

use crate::Router;
use route_policy_guest::wire::{self, Call, Line};
use serde_json::Value;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

/// The longest line read; a longer one is answered with an error, without being buffered.
pub const MAX_LINE_BYTES: usize = 32 << 20;

/// Runs the loop on stdin and stdout.
pub fn run(router: &dyn Router) -> Result<ExitCode, String> {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    stream(&|call| router.call_json(call), stdin, stdout).map_err(|e| format!("eval: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Answers every line of `input` on `output`, each parsed call through `answer`.
pub fn stream(answer: &dyn Fn(&Call) -> Value, input: impl Read, output: impl Write) -> std::io::Result<()> {
    // Owning the buffer lets the loop see whether more input is already here without blocking
    // on a reader that is waiting for its peer (an interactive host waits for each answer).
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut output = BufWriter::new(output);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        let (read, complete) = read_line(&mut input, &mut line)?;
        if read == 0 {
            break;
        }
        number += 1;
        let answer = if !complete {
            wire::err(
                "invalid-input",
                &format!("line {number} is longer than {} MiB; it was skipped", MAX_LINE_BYTES >> 20),
            )
        } else {
            let bytes = line.strip_suffix(b"\r").unwrap_or(&line);
            match Line::parse(bytes) {
                Ok(parsed) => wire::with_id(answer(&parsed.call), parsed.id.as_ref()),
                Err(error) => wire::err(error.code.as_str(), &format!("line {number}: {}", error.message)),
            }
        };
        serde_json::to_writer(&mut output, &answer)?;
        output.write_all(b"\n")?;
        if input.buffer().is_empty() {
            output.flush()?;
        }
    }
    output.flush()
}

/// Reads one line (without its `\n`) into `line`, keeping at most [`MAX_LINE_BYTES`]. Returns
/// the bytes consumed and whether the line fit.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    line.clear();
    let mut consumed = 0;
    let mut fits = true;
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok((consumed, fits));
        }
        let (chunk, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(at) => (&buffer[..at], Some(at + 1)),
            None => (buffer, None),
        };
        if fits && line.len() + chunk.len() <= MAX_LINE_BYTES {
            line.extend_from_slice(chunk);
        } else {
            fits = false;
            line.clear();
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        consumed += used;
        if done.is_some() {
            return Ok((consumed, fits));
        }
    }
}
