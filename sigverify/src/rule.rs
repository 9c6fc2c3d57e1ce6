//! The ed25519 acceptance rules a validator may enforce, chosen at run time.

use std::{fmt, str::FromStr};

/// Which ed25519 verification rule decides whether a signature is valid.
///
/// Agave enforces [`Rule::Strict`] today; [`Rule::Zip215`] is what feature gate
/// `ed25519_verify_zebra` (SIMD-0376) switches to; [`Rule::Zip215Amended`] is the
/// proposed amendment (SIMD PR #616) that keeps the cofactored equation but closes
/// the small-order-key forgery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rule {
    /// `verify_strict` semantics: S < L, small-order A and R rejected, the
    /// cofactorless equation `[S]B = R + [k]A` with the recomputed R compared byte
    /// for byte (so R must be canonical).
    #[default]
    Strict,
    /// ZIP-215 semantics: S < L, any A and R that decode (non-canonical encodings
    /// included), cofactored equation `[8][S]B = [8]R + [8][k]A`. Allows
    /// random-linear-combination batch verification.
    Zip215,
    /// ZIP-215 with the amendment: canonical A and R, no small-order A or R,
    /// S < L, cofactored equation.
    Zip215Amended,
}

impl Rule {
    /// Every rule, in a stable order (for CLIs and tests).
    pub const ALL: [Rule; 3] = [Rule::Strict, Rule::Zip215, Rule::Zip215Amended];

    /// The rule's name as used on the command line and in config files.
    pub fn label(self) -> &'static str {
        match self {
            Rule::Strict => "strict",
            Rule::Zip215 => "zip215",
            Rule::Zip215Amended => "zip215-amended",
        }
    }

    /// Whether the rule's equation is cofactored, which is what makes a
    /// random-linear-combination batch check give exactly the per-signature verdicts.
    pub fn is_cofactored(self) -> bool {
        !matches!(self, Rule::Strict)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The name given is not one of the known rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule {given:?}: expected strict, zip215 or zip215-amended")]
pub struct UnknownRule {
    /// What was given.
    pub given: String,
}

impl FromStr for Rule {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::ALL
            .into_iter()
            .find(|rule| rule.label() == s)
            .ok_or_else(|| UnknownRule {
                given: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(rule.label().parse::<Rule>(), Ok(rule));
        }
        assert!("zip-215".parse::<Rule>().is_err());
    }
}
