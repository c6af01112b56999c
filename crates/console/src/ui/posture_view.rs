//! How exposure-management values read on the pages (initiatives, recommendations and the
//! dashboard tile): scores, drift, weights, severities, domains and recommendation states,
//! with the form values they travel as.

use ironward_posture::{Domain, Severity, StateKind, Weight};
use maud::{html, Markup};

/// What a page says instead of a score when none can be computed.
pub(crate) const NO_SCORE: &str = "More data is required";

/// A score as shown (one decimal), or "More data is required".
pub(crate) fn score_text(score: Option<f64>) -> String {
    match score.filter(|s| s.is_finite()) {
        Some(s) => format!("{s:.1}"),
        None => NO_SCORE.to_owned(),
    }
}

/// Points as shown: `+3.5`, `−1.0`, `0.0`.
pub(crate) fn points_text(points: f64) -> String {
    if points > 0.049 {
        format!("+{points:.1}")
    } else if points < -0.049 {
        format!("−{:.1}", -points)
    } else {
        "0.0".to_owned()
    }
}

/// Drift over a period: ▲ up, ▼ down with its points, a dash when unknown.
pub(crate) fn drift_badge(drift: Option<f64>, days: u32) -> Markup {
    let title = format!("Change over {days} days");
    html! {
        @match drift.filter(|d| d.is_finite()) {
            Some(d) if d > 0.049 => span.drift.up title=(title) { "▲ " (points_text(d)) },
            Some(d) if d < -0.049 => span.drift.down title=(title) { "▼ " (points_text(d)) },
            Some(_) => span.drift title=(title) { "± 0.0" },
            None => span.drift.muted title=(title) { "—" },
        }
    }
}

/// A progress value (0–100) as a bar with its number; "not applicable" without devices.
pub(crate) fn progress_bar(progress: Option<f64>) -> Markup {
    html! {
        @if let Some(p) = progress.filter(|p| p.is_finite()) {
            meter min="0" max="100" low="50" high="80" optimum="100" value=(format!("{:.1}", p.clamp(0.0, 100.0))) {}
            " " (format!("{p:.1}"))
        } @else {
            span.muted { "not applicable" }
        }
    }
}

/// Every weight, heaviest first, as the weight selector offers them.
pub(crate) const WEIGHTS: [Weight; 4] = [
    Weight::High,
    Weight::Medium,
    Weight::Low,
    Weight::RiskAccepted,
];

/// A weight's form value (its serde name).
pub(crate) fn weight_value(w: Weight) -> &'static str {
    match w {
        Weight::High => "high",
        Weight::Medium => "medium",
        Weight::Low => "low",
        Weight::RiskAccepted => "risk_accepted",
    }
}

/// A weight as shown, with its factor in the score.
pub(crate) fn weight_text(w: Weight) -> &'static str {
    match w {
        Weight::High => "High (3)",
        Weight::Medium => "Medium (2)",
        Weight::Low => "Low (1)",
        Weight::RiskAccepted => "Risk accepted (excluded)",
    }
}

/// Every severity, mildest first (the filter's order).
pub(crate) const SEVERITIES: [Severity; 4] = [
    Severity::Low,
    Severity::Medium,
    Severity::High,
    Severity::Critical,
];

/// A severity's name (its serde name; also the badge's class).
pub(crate) fn severity_value(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The severity badge.
pub(crate) fn severity_badge(s: Severity) -> Markup {
    html! { span class={"badge " (severity_value(s))} { (severity_value(s)) } }
}

/// The domains a recommendation can belong to, as the filter offers them (IT devices get
/// recommendations too, though no initiative counts them).
pub(crate) const DOMAINS: [Domain; 3] = [Domain::Ot, Domain::EnterpriseIot, Domain::It];

/// A domain's form value (its serde name).
pub(crate) fn domain_value(d: Domain) -> &'static str {
    d.as_str()
}

/// A domain as shown.
pub(crate) fn domain_text(d: Domain) -> &'static str {
    match d {
        Domain::Ot => "OT",
        Domain::EnterpriseIot => "Enterprise IoT",
        Domain::It => "IT",
    }
}

/// Every state, as the filter offers them.
pub(crate) const STATES: [StateKind; 4] = [
    StateKind::Active,
    StateKind::Resolved,
    StateKind::RiskAccepted,
    StateKind::Exception,
];

/// A state's form value (its serde name).
pub(crate) fn state_value(s: StateKind) -> &'static str {
    s.as_str()
}

/// A state as shown.
pub(crate) fn state_text(s: StateKind) -> &'static str {
    match s {
        StateKind::Active => "Active",
        StateKind::Resolved => "Resolved",
        StateKind::RiskAccepted => "Risk accepted",
        StateKind::Exception => "Exception",
    }
}

/// The state badge.
pub(crate) fn state_badge(s: StateKind) -> Markup {
    html! { span class={"badge state-" (state_value(s))} { (state_text(s)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_people_expect() {
        assert_eq!(score_text(Some(72.349)), "72.3");
        assert_eq!(score_text(None), NO_SCORE);
        assert_eq!(score_text(Some(f64::NAN)), NO_SCORE);
        assert_eq!(points_text(3.46), "+3.5");
        assert_eq!(points_text(-1.0), "−1.0");
        assert_eq!(points_text(0.01), "0.0");
        let up = drift_badge(Some(4.25), 14).into_string();
        assert!(up.contains("▲ +4.2") && up.contains("drift up"), "{up}");
        let down = drift_badge(Some(-2.0), 14).into_string();
        assert!(
            down.contains("▼ −2.0") && down.contains("drift down"),
            "{down}"
        );
        assert!(drift_badge(None, 14).into_string().contains('—'));
        let bar = progress_bar(Some(66.666)).into_string();
        assert!(
            bar.contains("value=\"66.7\"") && bar.contains("66.7"),
            "{bar}"
        );
        assert!(progress_bar(None).into_string().contains("not applicable"));
        // Form values are the serde names the API and store use.
        for w in WEIGHTS {
            let json = serde_json::to_string(&w).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", weight_value(w)));
        }
        for s in STATES {
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", state_value(s)));
        }
        for s in SEVERITIES {
            let json = serde_json::to_string(&s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", severity_value(s)));
        }
        for d in DOMAINS {
            let json = serde_json::to_string(&d).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", domain_value(d)));
        }
    }
}
