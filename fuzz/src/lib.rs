//! Fuzz targets for jwtgate and the pieces of a stable-toolchain mutation
//! harness (`src/bin/mutate.rs`). The same targets run under cargo-afl
//! (`fuzz/afl/`) for coverage-guided runs; see `SECURITY.md`.

pub mod corpus;
pub mod fixtures;
pub mod mutate;
pub mod targets;

use mutate::{Rng, mutate_bytes, mutate_json, mutate_token};
pub use targets::Outcome;

/// One fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Token parser and verifier over fixed policies.
    Token,
    /// Header and payload JSON, signed by the test keys, then verified.
    Claims,
    /// A JWKS as inline `jwks` and as `jwks_file`.
    Jwks,
    /// A policy document.
    Policy,
    /// The unverified decoder.
    Unverified,
    /// Token sources: header, cookie and query extraction.
    Sources,
}

impl Target {
    /// Every target, in run order.
    pub const ALL: [Target; 6] =
        [Target::Token, Target::Claims, Target::Jwks, Target::Policy, Target::Unverified, Target::Sources];

    /// The target's name (its corpus folder).
    pub fn name(self) -> &'static str {
        match self {
            Target::Token => "token",
            Target::Claims => "claims",
            Target::Jwks => "jwks",
            Target::Policy => "policy",
            Target::Unverified => "unverified",
            Target::Sources => "sources",
        }
    }

    /// The target of a name.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Runs the target on one input.
    pub fn run(self, data: &[u8]) -> Outcome {
        match self {
            Target::Token => targets::token(data),
            Target::Claims => targets::claims(data),
            Target::Jwks => targets::jwks(data),
            Target::Policy => targets::policy(data),
            Target::Unverified => targets::unverified(data),
            Target::Sources => targets::sources(data),
        }
    }

    /// A mutation of `data` suited to the target's input format.
    pub fn mutate(self, data: &[u8], rng: &mut Rng, others: &[&[u8]]) -> Vec<u8> {
        match self {
            Target::Token | Target::Unverified => mutate_token(data, rng, others),
            Target::Claims => match data.iter().position(|b| *b == b'\n') {
                Some(i) if !rng.one_in(4) => {
                    let (header, payload) = (&data[..i], &data[i + 1..]);
                    let mut out;
                    if rng.one_in(3) {
                        out = mutate_json(header, rng);
                        out.push(b'\n');
                        out.extend_from_slice(payload);
                    } else {
                        out = header.to_vec();
                        out.push(b'\n');
                        out.extend(mutate_json(payload, rng));
                    }
                    out
                }
                _ => mutate_bytes(data, rng, others),
            },
            Target::Jwks | Target::Policy => {
                if rng.one_in(2) {
                    mutate_json(data, rng)
                } else {
                    mutate_bytes(data, rng, others)
                }
            }
            Target::Sources => mutate_bytes(data, rng, others),
        }
    }
}
