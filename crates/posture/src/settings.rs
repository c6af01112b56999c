//! What a console keeps per scope: weight and target overrides and the recommendation states
//! users set (risk accepted, exception), with the clock that expires them.

use std::collections::BTreeMap;

use ironward_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::catalog::Weight;

/// The state of a recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// Computed: it lists devices to fix.
    Active,
    /// Computed: it lists no device.
    Resolved,
    /// Set by a user: the risk is accepted; its devices do not count against the score.
    RiskAccepted,
    /// Set by a user: an exception (e.g. a compensating control); its devices do not count.
    Exception,
}

impl StateKind {
    /// Whether users set this state (the others are computed from the devices).
    pub const fn is_user_set(self) -> bool {
        matches!(self, StateKind::RiskAccepted | StateKind::Exception)
    }

    /// The serde name.
    pub const fn as_str(self) -> &'static str {
        match self {
            StateKind::Active => "active",
            StateKind::Resolved => "resolved",
            StateKind::RiskAccepted => "risk_accepted",
            StateKind::Exception => "exception",
        }
    }
}

/// A user-set state of a recommendation (Active/Resolved are computed; users set the others).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationState {
    /// Recommendation id.
    pub recommendation: String,
    /// RiskAccepted or Exception (Active and Resolved entries clear an earlier one).
    pub kind: StateKind,
    /// Why, in the author's words.
    pub reason: String,
    /// Who set it.
    pub author: String,
    /// When.
    pub set_at: Timestamp,
    /// When it lapses (the recommendation is computed again from then on); `None`: never.
    pub expires_at: Option<Timestamp>,
}

impl RecommendationState {
    /// Whether the state is a user-set one in force at `now` (expiry is exclusive: at
    /// `expires_at` it has lapsed).
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.kind.is_user_set() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// A console's settings for one scope.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settings {
    /// Metric id → weight, overriding the catalog's default.
    pub weights: BTreeMap<String, Weight>,
    /// Initiative id → target score, overriding the catalog's default.
    pub targets: BTreeMap<String, f64>,
    /// Recommendation states users set (the latest `set_at` per recommendation wins).
    pub states: Vec<RecommendationState>,
    /// Now, to expire states.
    pub now: Timestamp,
}

impl Settings {
    /// The user-set state in force for a recommendation: its latest entry, if that is a risk
    /// acceptance or exception that has not expired.
    pub fn state_of(&self, recommendation: &str) -> Option<&RecommendationState> {
        self.states
            .iter()
            .filter(|s| s.recommendation == recommendation)
            // Latest wins; among equal times the later entry in the list (the newer write).
            .fold(None, |best: Option<&RecommendationState>, s| match best {
                Some(b) if b.set_at > s.set_at => Some(b),
                _ => Some(s),
            })
            .filter(|s| s.in_force(self.now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(kind: StateKind, set_at: i64, expires_at: Option<i64>) -> RecommendationState {
        RecommendationState {
            recommendation: "r".into(),
            kind,
            reason: "why".into(),
            author: "alice".into(),
            set_at: Timestamp(set_at),
            expires_at: expires_at.map(Timestamp),
        }
    }

    #[test]
    fn latest_user_state_in_force_until_it_expires() {
        let mut settings = Settings {
            now: Timestamp(100),
            ..Settings::default()
        };
        assert!(settings.state_of("r").is_none());
        settings
            .states
            .push(state(StateKind::RiskAccepted, 10, None));
        assert_eq!(
            settings.state_of("r").map(|s| s.kind),
            Some(StateKind::RiskAccepted)
        );
        assert!(settings.state_of("other").is_none());
        // A newer exception replaces it, in force until (not at) its expiry.
        settings
            .states
            .push(state(StateKind::Exception, 20, Some(101)));
        assert_eq!(
            settings.state_of("r").map(|s| s.kind),
            Some(StateKind::Exception)
        );
        settings.now = Timestamp(101);
        assert!(settings.state_of("r").is_none(), "expired exception");
        // An Active entry set later clears an acceptance.
        settings.states = vec![
            state(StateKind::RiskAccepted, 10, None),
            state(StateKind::Active, 30, None),
        ];
        assert!(settings.state_of("r").is_none());
    }
}
