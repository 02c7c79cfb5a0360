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
