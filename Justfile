# Conveniences for route-policy. The README's two commands need none of this:
#   cargo run --release -p route-policy -- demo
#   cargo test

# Run the tests (the same command CI runs).
test:
    cargo test

# Build the release CLI (it builds the guest component itself).
build:
    cargo build --release -p route-policy

# Tell the seed stories through the real component.
demo:
    cargo run --release -p route-policy -- demo

# Run the conformance vectors through the compiled component.
check:
    cargo run --release -p route-policy -- check guest/vectors

# Show the component's identity, size and imports.
inspect:
    cargo run --release -p route-policy -- inspect

# Measure: per-call latency and ratios against native, lifecycle costs, throughput.
bench:
    cargo run --release -p route-policy -- bench
    cargo bench -p route-policy

# Fuzz one target (classify_error, resolve_endpoint, filter_fallbacks, eval_lines, guard) for
# `seconds`, seeded from the conformance vectors. Needs the nightly toolchain and cargo-fuzz.
fuzz target="classify_error" seconds="1800":
    cd guest/fuzz && cargo +nightly run -q --example seed -- corpus
    cd guest/fuzz && cargo +nightly fuzz run -s none -O {{target}} corpus/{{target}} -- -dict=route-policy.dict -max_len=16384 -max_total_time={{seconds}} -print_final_stats=1

# Fuzz every target, one after another.
fuzz-all seconds="1800":
    just fuzz classify_error {{seconds}}
    just fuzz resolve_endpoint {{seconds}}
    just fuzz filter_fallbacks {{seconds}}
    just fuzz eval_lines {{seconds}}
    just fuzz guard {{seconds}}

# The Node host's tests: every vector through jco, and the byte-for-byte diff with wasmtime.
node-test:
    cargo build -p route-policy
    cd host-test/node && npm ci --no-audit --no-fund && npm test

# The Node host's latency per op, beside `just bench`'s wasmtime figures.
node-bench:
    cargo build --release -p route-policy
    target/release/route-policy bench --inputs | node host-test/node/bench.mjs
