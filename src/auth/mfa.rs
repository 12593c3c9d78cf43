//! Two-step sign-in with time-based one-time codes (TOTP, RFC 6238): SHA-1,
//! 6 digits, 30-second steps, one step of clock skew either way, and no
//! step accepted twice.

use totp_rs::{Builder, Secret, Totp};

use crate::auth::Role;
use crate::web::random_token;

pub const ISSUER: &str = "Oversight Ledger";

/// Who must use two-step sign-in (an agency setting).
pub const POLICIES: [(&str, &str); 3] = [
    ("everyone", "Everyone (CJIS: everyone with access to criminal justice information)"),
    ("administrators", "Administrators"),
    ("optional", "Nobody is required (each user may still turn it on)"),
];

pub fn required(policy: &str, roles: &[Role]) -> bool {
    match policy {
        "everyone" => true,
        "optional" => false,
        // A state user sees every agency: held to what an administrator is.
        _ => roles.iter().any(|r| *r == Role::Administrator || r.is_state()),
    }
}

/// A fresh 160-bit secret, base32 as authenticator apps expect.
pub fn new_secret() -> String {
    let bytes = hex::decode(random_token(20)).unwrap_or_default();
    Secret::from(bytes).to_base32()
}

fn totp(secret: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret).ok()?;
    Builder::new().with_secret(secret).with_account_name(account).with_issuer(Some(ISSUER)).build().ok()
}

/// The time step a code matches at `now`, if it is valid and newer than
/// `last_step` (the replay guard).
pub fn accept(secret: &str, code: &str, last_step: i64, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let step = totp(secret, "x")?.check(&code, now.max(0) as u64)? as i64;
    (step > last_step).then_some(step)
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn enrolment_url(secret: &str, account: &str) -> String {
    totp(secret, account).and_then(|t| t.to_url().ok()).unwrap_or_default()
}

/// The enrolment address as an inline SVG QR code. The SVG is made here
/// from modules only (no text from the user), so it is safe to embed.
pub fn qr_svg(url: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(url.as_bytes()) else { return String::new() };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Drop the XML declaration: the SVG goes inside an HTML page.
    match svg.find("<svg") {
        Some(start) => svg[start..].replacen("<svg", "<svg role=\"img\" aria-label=\"QR code\"", 1),
        None => String::new(),
    }
}

/// The secret in groups of four, easier to type into an app by hand.
pub fn grouped(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let totp = totp(&secret, "x").unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(accept(&secret, "287082", 0, 59), Some(1));
        assert_eq!(accept(&secret, "287 082", 0, 59), Some(1), "spaces are ignored");
    }

    #[test]
    fn a_code_is_accepted_once_and_only_near_its_time() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = totp(&secret, "x").unwrap().generate(now as u64).to_string();
        let step = accept(&secret, &code, 0, now).unwrap();
        assert_eq!(accept(&secret, &code, step, now), None, "replay refused");
        assert!(accept(&secret, &code, 0, now + 30).is_some(), "one step of skew");
        assert_eq!(accept(&secret, &code, 0, now + 95), None, "too late");
        assert_eq!(accept(&secret, "000000x", 0, now), None);
    }

    #[test]
    fn policy() {
        assert!(required("administrators", &[Role::Administrator, Role::Clerk]));
        assert!(!required("administrators", &[Role::Clerk]));
        assert!(required("everyone", &[Role::Reviewer]));
        assert!(!required("optional", &[Role::Administrator]));
    }

    #[test]
    fn enrolment_artifacts() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        let url = enrolment_url(&secret, "chief");
        assert!(url.starts_with("otpauth://totp/Oversight%20Ledger:chief?"), "{url}");
        assert!(qr_svg(&url).starts_with("<svg"));
    }
}
