//! The frame every page shares: head, navigation (only what the user's role may open), the
//! signed-in user with the sign-out form, and the content.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::access::{Permission, UserPrincipal};
use crate::auth::CSRF_FIELD;

/// One entry of the navigation.
struct NavItem {
    href: &'static str,
    label: &'static str,
    permission: Permission,
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "Dashboard",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/devices",
        label: "Inventory",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/map",
        label: "Map",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/events",
        label: "Events",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/alerts",
        label: "Alerts",
        permission: Permission::ViewAlerts,
    },
    NavItem {
        href: "/vulnerabilities",
        label: "Vulnerabilities",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/initiatives",
        label: "Initiatives",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/recommendations",
        label: "Recommendations",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/sites",
        label: "Sites & sensors",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/groups",
        label: "Groups",
        permission: Permission::ViewInventory,
    },
    NavItem {
        href: "/users",
        label: "Users",
        permission: Permission::ManageUsers,
    },
    NavItem {
        href: "/audit",
        label: "Audit log",
        permission: Permission::ViewAudit,
    },
    NavItem {
        href: "/forwarding",
        label: "Forwarding",
        permission: Permission::ManageSettings,
    },
    NavItem {
        href: "/settings",
        label: "Settings",
        permission: Permission::ManageSettings,
    },
];

/// A whole page for a signed-in user; `active` is the navigation entry to highlight.
pub fn page(user: &UserPrincipal, title: &str, active: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.topbar {
                    a.brand href="/" { "Ironward" }
                    nav {
                        @for item in NAV {
                            @if user.role.allows(item.permission) {
                                a href=(item.href) class=[(item.href == active).then_some("active")] { (item.label) }
                            }
                        }
                    }
                    div.user {
                        a href="/account" title="Your account and API tokens" {
                            (user.name) " · " (user.role.as_str())
                        }
                        form method="post" action="/logout" {
                            (csrf_field(user))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// The hidden CSRF field every state-changing form of a session carries.
pub fn csrf_field(user: &UserPrincipal) -> Markup {
    html! {
        input type="hidden" name=(CSRF_FIELD) value=(user.csrf.as_deref().unwrap_or_default());
    }
}

/// The `<head>`: title, stylesheet, script (all same-origin: the content security policy
/// allows nothing else).
pub fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Ironward" }
            link rel="stylesheet" href="/static/console.css";
            script src="/static/console.js" defer {}
        }
    }
}

/// A page without navigation (sign-in, errors before sign-in).
pub fn bare_page(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare { main.narrow { (content) } }
        }
    }
}

/// A short page with a status, a title and one sentence.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = bare_page(
        title,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "Back to the dashboard" } }
        },
    );
    (status, html_response(body)).into_response()
}

/// HTML with the right content type.
pub fn html_response(markup: Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}
