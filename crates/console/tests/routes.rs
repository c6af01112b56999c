//! No route is open by accident: every route of the table, called without credentials, is
//! refused (401) unless it is on the short public list; and every route is refused for each
//! role its permission excludes (403).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::{concrete, As, TestConsole};
use ironward_console::access::{Access, Role};
use ironward_console::table;

/// The routes reachable without any credential, and why.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/login"),                  // the sign-in form
    ("POST", "/login"),                 // signing in
    ("GET", "/static/{file}"),          // stylesheet and script
    ("POST", "/api/v1/sensors/enroll"), // carries its own one-time token
];

#[tokio::test]
async fn every_route_without_credentials_is_refused() {
    let console = TestConsole::new().await;
    let routes = table();
    assert!(routes.len() >= PUBLIC.len());
    for route in &routes {
        let key = (route.method.as_str(), route.path);
        if route.access == Access::Public {
            assert!(
                PUBLIC.contains(&key),
                "{key:?} is public but not on the public list"
            );
            continue;
        }
        let body = (route.method != axum::http::Method::GET).then_some("{}");
        let answer = console
            .call(
                route.method.clone(),
                &concrete(route.path),
                &As::Nobody,
                body,
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{key:?} answered {} without credentials",
            answer.status
        );
    }
    for (method, path) in PUBLIC {
        assert!(
            routes.iter().any(|r| r.method.as_str() == *method
                && r.path == *path
                && r.access == Access::Public),
            "{method} {path} listed public but not served publicly"
        );
    }
}

#[tokio::test]
async fn every_role_is_refused_what_its_permission_excludes() {
    let console = TestConsole::new().await;
    for role in Role::ALL {
        let (_, who) = console
            .user(&format!("u-{}", role.as_str()), role.as_str(), &[])
            .await;
        for route in table() {
            let Access::User(permission) = route.access else {
                continue;
            };
            if role.allows(permission) {
                continue;
            }
            let body = (route.method != axum::http::Method::GET).then_some("{}");
            let answer = console
                .call(route.method.clone(), &concrete(route.path), &who, body)
                .await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{} {} as {}: {}",
                route.method,
                route.path,
                role.as_str(),
                answer.text()
            );
        }
    }
}

#[tokio::test]
async fn sensor_routes_refuse_user_tokens_and_garbage() {
    let console = TestConsole::new().await;
    let (_, admin) = console.user("admin", "admin", &[]).await;
    for route in table().iter().filter(|r| r.access == Access::Sensor) {
        for who in [admin.clone(), As::Token("not-a-credential".to_owned())] {
            let answer = console
                .call(
                    route.method.clone(),
                    &concrete(route.path),
                    &who,
                    Some("{}"),
                )
                .await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{} {}",
                route.method,
                route.path
            );
        }
    }
}
