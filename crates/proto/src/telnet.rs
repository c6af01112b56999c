//! Telnet (RFC 854) on TCP 23 and 2323: option negotiation is stripped from the text (and the
//! server's negotiation recorded, a fingerprint of its telnet daemon), the terminal type the
//! client announces names its software, the server's text before its first login prompt is
//! its banner, and a login is followed through its prompts to an authentication event
//! (succeeded or failed, from what the server prints next). Telnet in use is a finding on every
//! server that answers (the server only: the client that connects is not the device to fix).
//!
//! # A shell without any login
//!
//! [`Finding::TelnetWithoutAuthentication`] goes to a server that gave a command shell (or a
//! device CLI) to whoever connected, without asking for any credentials. A false finding tells
//! an operator that a device is open when it is not, so the rule is conservative; the server is
//! reported when, before any login or password prompt and with the start of the session seen:
//!
//! - **A prompt** — the server's text ends with a command prompt (`$ `, `# `, `> `, or `% `
//!   after a name, with optional text before it on its line: `~ # `, `user@host:~$ `,
//!   `host% `; or a device CLI's `Router>`, `switch#`) and the client then types (or the
//!   connection ends there), or
//! - **A conversation** — the client ended [`NO_LOGIN_EXCHANGES`] lines and the server
//!   answered each with text (a menu or a shell whose prompt is not recognised).
//!
//! Nothing is reported when any of these holds, because the shell may then have followed a
//! login this dissector could not see or did not recognise:
//!
//! - a login or password prompt came first (the login is followed instead; its outcome is an
//!   authentication event, never this finding);
//! - the server's text before the decision names credentials at all ([`AUTH_WORDS`]: `login`,
//!   `user name`, `pass…`, `PIN:`, `denied`, …), also in a banner;
//! - the session's start was not captured: the server's first bytes were not option
//!   negotiation (every telnet daemon negotiates first; a capture that began mid-session
//!   starts with shell text), or the flow's roles had to be taken from the port;
//! - bytes were lost in either direction (a gap) before the decision;
//! - no decision within the first [`NO_LOGIN_WINDOW`] bytes of server text;
//! - the prompt's line is a banner's decoration (`#### `, `>> `).
//!
//! Nothing the client types is kept: its text is never kept or matched, only whether it ends a
//! line, and its option negotiation. The banner ends where the client first types (an echo of
//! what it typed is not the server's banner).

use ironward_model::{Attribute, EventCategory, Finding, Source};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::text;

/// The ports telnet is taken on (2323: the alternative port of many IoT devices).
pub const PORTS: [u16; 2] = [23, 2323];

/// Longest banner kept, in bytes.
pub const MAX_BANNER: usize = 512;

/// Longest subnegotiation kept; the rest is dropped.
pub const MAX_SUBNEGOTIATION: usize = 64;

/// Server negotiation commands recorded.
const MAX_OPTIONS: usize = 16;

/// Server text remembered for prompts and messages split across segments.
const TAIL: usize = 48;

/// Client lines the server must answer, with no login seen, for a shell without login to be
/// taken from the conversation alone (no recognised prompt).
pub const NO_LOGIN_EXCHANGES: u8 = 3;

/// Server text (bytes) within which a shell without login must be recognised; after it the
/// session is not looked at for that any more (bounded work on long unrecognised sessions).
pub const NO_LOGIN_WINDOW: u32 = 64 * 1024;

/// Interpret As Command.
pub const IAC: u8 = 255;
const SB: u8 = 250;
const SE: u8 = 240;
/// The TERMINAL-TYPE option (RFC 1091).
pub const TERMINAL_TYPE: u8 = 24;

/// Why a subnegotiation could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelnetError {
    /// The subnegotiation is not `IS` (0) followed by a value.
    NotIs,
    /// The value holds a byte that is not printable ASCII, at `offset`.
    NotText {
        /// Offset in the subnegotiation data.
        offset: usize,
    },
}

impl std::fmt::Display for TelnetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotIs => f.write_str("subnegotiation is not IS <value>"),
            Self::NotText { offset } => write!(f, "non-text byte at offset {offset}"),
        }
    }
}

impl std::error::Error for TelnetError {}

/// An option negotiation verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// WILL (251): the sender offers to perform the option.
    Will,
    /// WON'T (252).
    Wont,
    /// DO (253): the sender asks the receiver to perform the option.
    Do,
    /// DON'T (254).
    Dont,
}

impl Verb {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            251 => Some(Self::Will),
            252 => Some(Self::Wont),
            253 => Some(Self::Do),
            254 => Some(Self::Dont),
            _ => None,
        }
    }

    /// The verb's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Will => "WILL",
            Self::Wont => "WONT",
            Self::Do => "DO",
            Self::Dont => "DONT",
        }
    }
}

/// The name of a telnet option (IANA telnet options registry), or `None` for others.
pub fn option_name(option: u8) -> Option<&'static str> {
    Some(match option {
        0 => "BINARY",
        1 => "ECHO",
        3 => "SUPPRESS-GO-AHEAD",
        5 => "STATUS",
        6 => "TIMING-MARK",
        24 => "TERMINAL-TYPE",
        31 => "NAWS",
        32 => "TERMINAL-SPEED",
        33 => "REMOTE-FLOW-CONTROL",
        34 => "LINEMODE",
        35 => "X-DISPLAY-LOCATION",
        36 => "ENVIRON",
        37 => "AUTHENTICATION",
        38 => "ENCRYPT",
        39 => "NEW-ENVIRON",
        44 => "COM-PORT-OPTION",
        46 => "START-TLS",
        _ => return None,
    })
}

/// What the decoder finds in a telnet stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// Text (or binary data) with the commands removed.
    Data(&'a [u8]),
    /// `IAC WILL|WONT|DO|DONT option`.
    Negotiation {
        /// The verb.
        verb: Verb,
        /// The option.
        option: u8,
    },
    /// `IAC SB option data IAC SE` (data cut at [`MAX_SUBNEGOTIATION`] bytes).
    Subnegotiation {
        /// The option.
        option: u8,
        /// Its data, with doubled IACs undone.
        data: &'a [u8],
    },
    /// Another command (`IAC GA`, `IAC NOP`, `IAC AYT`, ...).
    Command(u8),
}

/// Where the decoder is between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Negotiation(Verb),
    SubOption,
    SubData,
    SubIac,
}

/// A streaming telnet decoder: commands may be split across segments anywhere.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
    option: u8,
    data: [u8; MAX_SUBNEGOTIATION],
    len: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            state: State::Data,
            option: 0,
            data: [0; MAX_SUBNEGOTIATION],
            len: 0,
        }
    }
}

impl Decoder {
    /// Decodes `input`, handing each item to `on_item` in order.
    pub fn feed(&mut self, input: &[u8], mut on_item: impl FnMut(Item<'_>)) {
        let mut pos = 0;
        // Every turn moves `pos` forward, except the one after a malformed subnegotiation
        // end, which changes the state to `Iac` (whose turn always moves forward).
        while pos < input.len() {
            let byte = input[pos];
            match self.state {
                State::Data => {
                    let run = input[pos..]
                        .iter()
                        .position(|&b| b == IAC)
                        .unwrap_or(input.len() - pos);
                    if run > 0 {
                        on_item(Item::Data(&input[pos..pos + run]));
                    }
                    pos += run;
                    if pos < input.len() {
                        self.state = State::Iac;
                        pos += 1;
                    }
                    continue;
                }
                State::Iac => {
                    self.state = match byte {
                        IAC => {
                            on_item(Item::Data(&input[pos..pos + 1]));
                            State::Data
                        }
                        SB => State::SubOption,
                        _ => match Verb::from_byte(byte) {
                            Some(verb) => State::Negotiation(verb),
                            None => {
                                on_item(Item::Command(byte));
                                State::Data
                            }
                        },
                    };
                }
                State::Negotiation(verb) => {
                    on_item(Item::Negotiation { verb, option: byte });
                    self.state = State::Data;
                }
                State::SubOption => {
                    self.option = byte;
                    self.len = 0;
                    self.state = State::SubData;
                }
                State::SubData => {
                    if byte == IAC {
                        self.state = State::SubIac;
                    } else {
                        self.push(byte);
                    }
                }
                State::SubIac => match byte {
                    IAC => {
                        self.push(IAC);
                        self.state = State::SubData;
                    }
                    _ => {
                        on_item(Item::Subnegotiation {
                            option: self.option,
                            data: &self.data[..self.len],
                        });
                        if byte == SE {
                            self.state = State::Data;
                        } else {
                            // IAC <command> inside a subnegotiation ends it; the command is
                            // read again as one.
                            self.state = State::Iac;
                            continue;
                        }
                    }
                },
            }
            pos += 1;
        }
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.data.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }
}

/// The value of an `IS` subnegotiation (TERMINAL-TYPE: `IS xterm-color`).
pub fn subnegotiation_is(data: &[u8]) -> Result<&[u8], TelnetError> {
    let value = match data {
        [0, value @ ..] if !value.is_empty() => value,
        _ => return Err(TelnetError::NotIs),
    };
    match value.iter().position(|b| !(0x20..0x7f).contains(b)) {
        Some(offset) => Err(TelnetError::NotText { offset: offset + 1 }),
        None => Ok(value),
    }
}

/// Prompts asking for a user name (lower case; matched at the end of the server's text).
const LOGIN_PROMPTS: [&[u8]; 4] = [b"login:", b"username:", b"user name:", b"user:"];
/// Prompts asking for a password.
const PASSWORD_PROMPTS: [&[u8]; 2] = [b"password:", b"passcode:"];
/// What servers print after a refused password (lower case).
const FAILURES: [&[u8]; 7] = [
    b"login incorrect",
    b"authentication failed",
    b"login invalid",
    b"access denied",
    b"login failed",
    b"bad password",
    b"incorrect password",
];
/// What servers print after an accepted password (lower case).
const SUCCESSES: [&[u8]; 1] = [b"last login"];
/// How shell prompts end.
const SHELL_PROMPTS: [&[u8]; 3] = [b"$ ", b"# ", b"> "];
/// Words (lower case) that, in the server's text before a shell, mean credentials may have
/// been asked for or talked about: the shell is then not reported as given without login.
pub const AUTH_WORDS: [&[u8]; 19] = [
    b"login",
    b"logon",
    b"log in",
    b"log on",
    b"username",
    b"user name",
    b"user:",
    b"user id",
    b"userid",
    b"pass",
    b"pwd",
    b"pin:",
    b"name:",
    b"account",
    b"authenticat",
    b"credential",
    b"denied",
    b"incorrect",
    b"invalid",
];

/// Where a login is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Login {
    /// Before the first prompt: the server's text is its banner.
    Banner,
    /// A user name was asked for (or a password refused): waiting for the password prompt.
    User,
    /// A password was asked for: waiting for the verdict.
    Password,
    /// Logged in (or given up): nothing more to follow.
    Done,
}

/// Whether `text`, without trailing spaces, ends with one of `needles` (ASCII case ignored).
fn ends_with_any(text: &[u8], needles: &[&[u8]]) -> bool {
    let end = text
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |p| p + 1);
    let text = &text[..end];
    needles
        .iter()
        .any(|n| text.len() >= n.len() && text[text.len() - n.len()..].eq_ignore_ascii_case(n))
}

fn contains_any(text: &[u8], needles: &[&[u8]]) -> bool {
    needles
        .iter()
        .any(|n| text::find_ignore_case(text, n).is_some())
}

/// Where the check for a shell given without login is (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The server has not sent anything yet.
    NotStarted,
    /// The session's start was seen and no login has been asked for: deciding.
    Watching,
    /// Decided: reported, or not this finding.
    Off,
}

/// What the check for a shell given without login follows.
#[derive(Debug, Clone, Copy)]
struct NoLogin {
    check: Check,
    /// The server's text ends with a command prompt.
    at_prompt: bool,
    /// The client ended a line the server has not answered yet.
    line_pending: bool,
    /// Client lines the server answered.
    exchanges: u8,
    /// Server text looked at, in bytes.
    seen: u32,
}

/// What the dissector follows of one flow.
#[derive(Debug)]
struct Session {
    server_direction: Direction,
    answered: bool,
    login: Login,
    banner: Vec<u8>,
    banner_reported: bool,
    /// The client typed after the banner began: what the server sends next is no banner.
    banner_closed: bool,
    no_login: NoLogin,
    /// The last bytes of server text (prompts and messages split across segments).
    tail: [u8; TAIL],
    tail_len: usize,
    /// The server's negotiation commands, in order, without repeats.
    options: [(Verb, u8); MAX_OPTIONS],
    options_len: usize,
}

impl Session {
    fn on_item(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        item: Item<'_>,
        out: &mut Observations,
    ) {
        let from_server = direction == self.server_direction;
        match item {
            Item::Data(data) if from_server => self.on_server_text(flow, data, out),
            Item::Data(data) => self.on_client_text(flow, data, out),
            Item::Negotiation { verb, option } if from_server => {
                let entry = (verb, option);
                if self.options_len < MAX_OPTIONS
                    && !self.options[..self.options_len].contains(&entry)
                {
                    self.options[self.options_len] = entry;
                    self.options_len += 1;
                }
            }
            Item::Subnegotiation { option, data } if !from_server && option == TERMINAL_TYPE => {
                if let Ok(terminal) = subnegotiation_is(data) {
                    let client = flow.sender(direction);
                    out.fact_bytes(
                        client,
                        Attribute::UserAgent,
                        terminal,
                        Source::Telnet,
                        flow.now,
                    );
                }
            }
            _ => {}
        }
    }

    fn on_server_text(&mut self, flow: &FlowMeta, data: &[u8], out: &mut Observations) {
        if self.login == Login::Done {
            return;
        }
        // Messages split across segments: the end of the previous text and the start of
        // this one, side by side.
        let mut seam = [0u8; 2 * TAIL];
        let head = data.len().min(TAIL);
        seam[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        seam[self.tail_len..self.tail_len + head].copy_from_slice(&data[..head]);
        let seam = &seam[..self.tail_len + head];
        let found = |needles: &[&[u8]]| contains_any(data, needles) || contains_any(seam, needles);
        let watching = self.no_login.check == Check::Watching && self.login == Login::Banner;
        if watching {
            self.no_login.seen = self
                .no_login
                .seen
                .saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX));
            if self.no_login.seen > NO_LOGIN_WINDOW || found(&AUTH_WORDS) {
                self.no_login.check = Check::Off;
            }
        }
        match self.login {
            Login::Banner if !self.banner_closed => {
                let room = MAX_BANNER.saturating_sub(self.banner.len());
                self.banner.extend_from_slice(&data[..data.len().min(room)]);
            }
            Login::Password if found(&FAILURES) => {
                self.auth(flow, false, out);
                self.enter(Login::User);
            }
            Login::Password if found(&SUCCESSES) => self.auth(flow, true, out),
            _ => {}
        }
        self.push_tail(data);
        let tail = &self.tail[..self.tail_len];
        let next = if ends_with_any(tail, &PASSWORD_PROMPTS) {
            Some(Login::Password)
        } else if ends_with_any(tail, &LOGIN_PROMPTS) {
            Some(Login::User)
        } else {
            None
        };
        match (self.login, next) {
            (Login::Banner, Some(next)) => {
                self.no_login.check = Check::Off;
                self.report_banner(flow, out);
                self.enter(next);
            }
            (Login::Banner, None) if self.no_login.check == Check::Watching => {
                self.no_login.at_prompt = is_open_shell_prompt(tail);
                if self.no_login.line_pending && !data.is_empty() {
                    self.no_login.line_pending = false;
                    self.no_login.exchanges += 1;
                    if self.no_login.exchanges >= NO_LOGIN_EXCHANGES {
                        self.shell_without_login(flow, out);
                    }
                }
            }
            (Login::User, Some(next)) => self.enter(next),
            (Login::Password, _) if is_shell_prompt(tail) => self.auth(flow, true, out),
            _ => {}
        }
    }

    /// The client's text: never kept nor matched; it closes the banner, and typing at a prompt
    /// (or ending lines) is what the check for a shell without login waits for.
    fn on_client_text(&mut self, flow: &FlowMeta, data: &[u8], out: &mut Observations) {
        if self.login != Login::Banner || data.is_empty() {
            return;
        }
        if !self.banner_closed && !text::trim(&self.banner).is_empty() {
            self.banner_closed = true;
        }
        if self.no_login.check != Check::Watching {
            return;
        }
        if self.no_login.at_prompt {
            self.shell_without_login(flow, out);
        } else if data.iter().any(|&b| b == b'\r' || b == b'\n') {
            self.no_login.line_pending = true;
        }
    }

    /// The server's first bytes: the session's start was captured when they negotiate
    /// options (and the roles came from the handshake, not from the port).
    fn on_server_start(&mut self, first: u8) {
        self.no_login.check = if first == IAC && self.server_direction == Direction::ServerToClient
        {
            Check::Watching
        } else {
            Check::Off
        };
    }

    /// Reports a shell given without login (decided by the caller), with the banner before
    /// the prompt; the session is not followed further.
    fn shell_without_login(&mut self, flow: &FlowMeta, out: &mut Observations) {
        self.no_login.check = Check::Off;
        let server = flow.sender(self.server_direction);
        out.finding(
            server,
            Finding::TelnetWithoutAuthentication,
            Source::Telnet,
            flow.now,
        );
        if !self.banner_reported && is_open_shell_prompt(&self.banner) {
            // The prompt (its line names the current directory or the user) is no banner.
            let cut = self
                .banner
                .iter()
                .rposition(|&b| b == b'\n' || b == b'\r')
                .map_or(0, |p| p + 1);
            self.banner.truncate(cut);
        }
        self.report_banner(flow, out);
        self.login = Login::Done;
    }

    /// The server's stream (or the flow) ended: a prompt left unanswered still was a shell
    /// given without login.
    fn on_server_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        if self.login == Login::Banner
            && self.no_login.check == Check::Watching
            && self.no_login.at_prompt
        {
            self.shell_without_login(flow, out);
        }
        self.report_banner(flow, out);
    }

    /// Moves to `login`. The remembered text is forgotten: it belongs to the previous step
    /// (a refusal message must not count again for the next attempt).
    fn enter(&mut self, login: Login) {
        self.login = login;
        self.tail_len = 0;
    }

    fn push_tail(&mut self, data: &[u8]) {
        if data.len() >= TAIL {
            self.tail.copy_from_slice(&data[data.len() - TAIL..]);
            self.tail_len = TAIL;
            return;
        }
        let keep = (TAIL - data.len()).min(self.tail_len);
        self.tail
            .copy_within(self.tail_len - keep..self.tail_len, 0);
        self.tail[keep..keep + data.len()].copy_from_slice(data);
        self.tail_len = keep + data.len();
    }

    fn auth(&mut self, flow: &FlowMeta, succeeded: bool, out: &mut Observations) {
        let detail = if succeeded {
            "Telnet login succeeded"
        } else {
            "Telnet login failed"
        };
        let client_direction = self.server_direction.reverse();
        out.event(
            flow,
            client_direction,
            "telnet",
            EventCategory::Authentication,
            "login",
            detail,
        );
        if succeeded {
            self.login = Login::Done;
            self.report_banner(flow, out);
        }
    }

    /// The banner (the text before the first prompt) and the server's negotiation, once.
    fn report_banner(&mut self, flow: &FlowMeta, out: &mut Observations) {
        if self.banner_reported || !self.answered {
            return;
        }
        self.banner_reported = true;
        let server = flow.sender(self.server_direction);
        let mut banner = &self.banner[..];
        // Cut the prompt itself off.
        let prompts = LOGIN_PROMPTS.iter().chain(PASSWORD_PROMPTS.iter());
        if let Some(cut) = prompts
            .filter_map(|p| {
                let lower = banner.len().saturating_sub(TAIL);
                text::find_ignore_case(&banner[lower..], p).map(|at| lower + at)
            })
            .min()
        {
            banner = &banner[..cut];
        }
        out.fact_bytes(
            server,
            Attribute::Description,
            banner,
            Source::Telnet,
            flow.now,
        );
        if self.options_len > 0 {
            // What the server offers (WILL) and asks the client for (DO), in the order it
            // negotiated them: a fingerprint of the telnet daemon. Refusals are left out.
            let mut value = String::from("telnet");
            for verb in [Verb::Will, Verb::Do] {
                let mut first = true;
                for (_, option) in self.options[..self.options_len]
                    .iter()
                    .filter(|(v, _)| *v == verb)
                {
                    if first {
                        value.push(' ');
                        value.push_str(verb.as_str());
                        value.push(' ');
                        first = false;
                    } else {
                        value.push(',');
                    }
                    match option_name(*option) {
                        Some(name) => value.push_str(name),
                        None => value.push_str(&option.to_string()),
                    }
                }
                if !first && verb == Verb::Will {
                    value.push(';');
                }
            }
            out.fact(
                server,
                Attribute::Capability,
                &value,
                Source::Telnet,
                flow.now,
            );
        }
        self.banner = Vec::new();
    }
}

/// Whether the server's text ends with a prompt a shell given without login shows: a command
/// prompt ([`is_shell_prompt`]) or `% ` after a name on its line (`host% `, csh and zsh), and
/// not a banner's decoration (the prompt character doubled: `#### `, `>> `).
fn is_open_shell_prompt(text: &[u8]) -> bool {
    let line = match text.iter().rposition(|&b| b == b'\n' || b == b'\r') {
        Some(end) => &text[end + 1..],
        None => text,
    };
    let trimmed = match line.iter().rposition(|&b| b != b' ') {
        Some(last) => &line[..=last],
        None => return false,
    };
    if let [.., a, b] = trimmed {
        if a == b {
            return false;
        }
    }
    is_shell_prompt(line)
        || (line.ends_with(b"% ") && line[..line.len() - 2].iter().any(u8::is_ascii_alphanumeric))
}

/// Whether the server's text ends with a command prompt: a shell's (`user@host:~$ `,
/// `# `, `> `), or a network device's, a bare name followed by `#` or `>` alone on its line
/// (`Router#`, `Switch(config)#`, `RouterOS>`).
fn is_shell_prompt(text: &[u8]) -> bool {
    if SHELL_PROMPTS.iter().any(|p| text.ends_with(p)) {
        return true;
    }
    let line = match text.iter().rposition(|&b| b == b'\n' || b == b'\r') {
        Some(end) => &text[end + 1..],
        None => text,
    };
    match line.split_last() {
        Some((b'#' | b'>', name)) => {
            (1..=40).contains(&name.len())
                && name.first().is_some_and(u8::is_ascii_alphanumeric)
                && name
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"-_.()".contains(&b))
        }
        _ => false,
    }
}

/// The telnet dissector of one flow.
#[derive(Debug)]
pub struct TelnetDissector {
    decoders: [Decoder; 2],
    session: Session,
}

impl TelnetDissector {
    /// A dissector for a flow whose server sends in `server_direction`.
    pub fn new(server_direction: Direction) -> Self {
        Self {
            decoders: [Decoder::default(), Decoder::default()],
            session: Session {
                server_direction,
                answered: false,
                login: Login::Banner,
                banner: Vec::new(),
                banner_reported: false,
                banner_closed: false,
                no_login: NoLogin {
                    check: Check::NotStarted,
                    at_prompt: false,
                    line_pending: false,
                    exchanges: 0,
                    seen: 0,
                },
                tail: [0; TAIL],
                tail_len: 0,
                options: [(Verb::Will, 0); MAX_OPTIONS],
                options_len: 0,
            },
        }
    }
}

impl Dissector for TelnetDissector {
    fn protocol(&self) -> &'static str {
        "telnet"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        if self.session.login == Login::Done {
            return; // Logged in: the session's content is nobody's business.
        }
        let from_server = direction == self.session.server_direction;
        match chunk {
            StreamChunk::Data(data) => {
                if let (true, false, Some(&first)) =
                    (from_server, self.session.answered, data.first())
                {
                    self.session.answered = true;
                    let server = flow.sender(direction);
                    out.finding(server, Finding::TelnetInUse, Source::Telnet, flow.now);
                    self.session.on_server_start(first);
                }
                let session = &mut self.session;
                self.decoders[direction.index()]
                    .feed(data, |item| session.on_item(flow, direction, item, out));
            }
            StreamChunk::Gap(_) => {
                // Commands and prompts cut by the gap cannot be followed reliably, and a
                // login prompt may have been in it.
                self.decoders[direction.index()] = Decoder::default();
                self.session.tail_len = 0;
                self.session.no_login.check = Check::Off;
            }
            StreamChunk::End => {
                if from_server {
                    self.session.on_server_end(flow, out);
                }
            }
        }
    }

    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        self.session.on_server_end(flow, out);
    }
}

/// Whether a first payload starts with telnet option negotiation: `IAC WILL|WONT|DO|DONT`
/// with a known option, followed by another command, text or nothing.
pub fn looks_like_telnet(payload: &[u8]) -> bool {
    match payload {
        [IAC, verb, option, rest @ ..] => {
            Verb::from_byte(*verb).is_some()
                && option_name(*option).is_some()
                && match rest.first() {
                    None => true,
                    Some(&b) => b == IAC || b == b'\r' || b == b'\n' || (0x20..0x7f).contains(&b),
                }
        }
        _ => false,
    }
}

/// Takes TCP flows on the telnet ports, and flows on any port that start with telnet option
/// negotiation.
#[derive(Debug, Default)]
pub struct TelnetFactory;

impl DissectorFactory for TelnetFactory {
    fn protocol(&self) -> &'static str {
        "telnet"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        if flow.transport != Transport::Tcp {
            return None;
        }
        // Without the handshake the flow's roles may be reversed: the server is on the port.
        let server_direction =
            if PORTS.contains(&flow.client.port()) && !PORTS.contains(&flow.server.port()) {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            };
        let by_port = PORTS.contains(&flow.server.port()) || PORTS.contains(&flow.client.port());
        (by_port || looks_like_telnet(first_payload))
            .then(|| Box::new(TelnetDissector::new(server_direction)) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(TelnetFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Event, Fact, Timestamp};

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    /// The start of Wireshark's `telnet-cooked` sample as suricata ships it
    /// (`telnet/suricata_telnet.pcap`, tcp stream 0), segment by segment, in hex.
    const OPENBSD: &[(Direction, &str)] = &[
        (C2S, "fffd03fffb18fffb1ffffb20fffb21fffb22fffb27fffd05fffb23"),
        (S2C, "fffd25"),
        (C2S, "fffc25"),
        (S2C, "fffb03fffd18fffd1ffffd20fffd21fffd22fffa22010bfff0"),
        (C2S, "fffa1f00500020fff0fffa220301000003620304020f05000007621c08020409421a0a027f0b02150f0211100213110000120000fff0fffd03fffa22010ffff0"),
        (S2C, "fffd27fffb05fffd23fffb26fffd26fffd24"),
        (C2S, "fffe26fffc26fffc24"),
        (S2C, "fffa2001fff0fffa2301fff0fffa2701fff0fffa1801fff0"),
        (C2S, "fffa2000393630302c39363030fff0fffa230062616d2e7a696e672e6f72673a302e30fff0fffa270000444953504c41590162616d2e7a696e672e6f72673a302e30fff0fffa1800787465726d2d636f6c6f72fff0"),
        (S2C, "fffd01"),
        (C2S, "fffc01"),
        (S2C, "fffb01fffa2102fff0fffc01"),
        (C2S, "fffd01fffe01"),
        (S2C, "fffa2203058000118000128000fff0"),
        (S2C, "0d0a4f70656e4253442f6933383620286f6f662920287474797032290d0a0d0a"),
        (S2C, "6c6f67696e3a20"),
        (C2S, "66616b650d0a"),
        (S2C, "fffb01"),
        (C2S, "fffd01"),
        (S2C, "50617373776f72643a"),
        (C2S, "757365720d0a"),
        (S2C, "0d0a"),
        (S2C, "fffc01"),
        (C2S, "fffe01"),
        (S2C, "4c617374206c6f67696e3a20536174204e6f762032372032303a31313a3433206f6e2074747970322066726f6d2062616d2e7a696e672e6f72670d0a"),
        (S2C, "2420"),
    ];

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    fn flow(client_port: u16, server_port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([192, 168, 0, 2], client_port).into(),
            server: ([192, 168, 0, 1], server_port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn run(flow: FlowMeta, chunks: &[(Direction, Vec<u8>)]) -> (Vec<Fact>, Vec<Event>) {
        let mut dissector = TelnetFactory.select(&flow, C2S, &chunks[0].1).unwrap();
        let mut out = Observations::default();
        for (direction, data) in chunks {
            dissector.on_stream(&flow, *direction, StreamChunk::Data(data), &mut out);
        }
        dissector.on_end(&flow, &mut out);
        let facts = out.drain_facts().collect();
        let events = out.drain_events().collect();
        (facts, events)
    }

    fn text(chunks: &[(Direction, &str)]) -> Vec<(Direction, Vec<u8>)> {
        chunks
            .iter()
            .map(|(d, t)| (*d, t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn decoder_separates_commands_from_text_across_segments() {
        let stream = unhex("41fffb0142fffa18007874fffffff0fff143fffa20");
        let mut whole = Vec::new();
        let mut decoder = Decoder::default();
        decoder.feed(&stream, |item| whole.push(format!("{item:?}")));
        assert_eq!(
            whole,
            [
                "Data([65])",
                "Negotiation { verb: Will, option: 1 }",
                "Data([66])",
                "Subnegotiation { option: 24, data: [0, 120, 116, 255] }",
                "Command(241)",
                "Data([67])",
            ]
        );
        // Byte by byte: the same commands, text in one-byte pieces.
        let mut bytewise = Vec::new();
        let mut decoder = Decoder::default();
        for byte in &stream {
            decoder.feed(std::slice::from_ref(byte), |item| {
                bytewise.push(format!("{item:?}"))
            });
        }
        assert_eq!(bytewise, whole);
        // A subnegotiation ended by a command other than SE, and one longer than kept.
        let mut items = Vec::new();
        let mut long = unhex("fffa18");
        long.extend([b'x'; 200]);
        long.extend(unhex("fff0fffa1800fffb01"));
        Decoder::default().feed(&long, |item| items.push(format!("{item:?}")));
        assert_eq!(items.len(), 3);
        assert!(items[0].contains("option: 24"));
        assert_eq!(items[1], "Subnegotiation { option: 24, data: [0] }");
        assert_eq!(items[2], "Negotiation { verb: Will, option: 1 }");
        assert_eq!(subnegotiation_is(b"\0xterm-color"), Ok(&b"xterm-color"[..]));
        assert_eq!(subnegotiation_is(b"\x01"), Err(TelnetError::NotIs));
        assert_eq!(
            subnegotiation_is(b"\0a\x1b"),
            Err(TelnetError::NotText { offset: 2 })
        );
    }

    #[test]
    fn openbsd_session_gives_banner_terminal_finding_and_login() {
        let chunks: Vec<_> = OPENBSD.iter().map(|(d, h)| (*d, unhex(h))).collect();
        let (facts, events) = run(flow(1550, 23), &chunks);
        let server = DeviceKey::Ip([192, 168, 0, 1].into());
        let client = DeviceKey::Ip([192, 168, 0, 2].into());
        let got: Vec<_> = facts
            .iter()
            .map(|f| (f.subject, f.attribute, f.value.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (server, Attribute::Finding, "telnet_in_use".to_owned()),
                (client, Attribute::UserAgent, "xterm-color".to_owned()),
                (
                    server,
                    Attribute::Description,
                    "OpenBSD/i386 (oof) (ttyp2)".to_owned()
                ),
                (
                    server,
                    Attribute::Capability,
                    "telnet WILL SUPPRESS-GO-AHEAD,STATUS,ENCRYPT,ECHO; DO AUTHENTICATION,\
TERMINAL-TYPE,NAWS,TERMINAL-SPEED,REMOTE-FLOW-CONTROL,LINEMODE,NEW-ENVIRON,\
X-DISPLAY-LOCATION,ENCRYPT,ENVIRON,ECHO"
                        .to_owned()
                ),
            ]
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail, "Telnet login succeeded");
        assert_eq!(
            events[0].src.ip.unwrap(),
            "192.168.0.2".parse::<std::net::IpAddr>().unwrap()
        );
        // Neither the user name nor the password appears anywhere.
        let all = format!("{facts:?}{events:?}");
        assert!(!all.contains("fake") && !all.contains("user\""));
        // Byte by byte, the same.
        let bytes: Vec<_> = chunks
            .iter()
            .flat_map(|(d, data)| data.iter().map(move |b| (*d, vec![*b])))
            .collect();
        let (facts_bytewise, events_bytewise) = run(flow(1550, 23), &bytes);
        assert_eq!(facts_bytewise, facts);
        assert_eq!(events_bytewise, events);
    }

    #[test]
    fn failed_then_successful_logins_with_cisco_prompts() {
        let session = text(&[
            (S2C, "\r\n\r\nUser Access Verification\r\n\r\nUsername: "),
            (C2S, "admin\r\n"),
            (S2C, "admin\r\nPass"),
            (S2C, "word: "),
            (C2S, "secret1\r\n"),
            (S2C, "\r\n% Login inv"),
            (S2C, "alid\r\n\r\nUsername: "),
            (C2S, "admin\r\n"),
            (S2C, "admin\r\nPassword: "),
            (C2S, "secret2\r\n"),
            (S2C, "\r\nrouter1"),
            (S2C, "#"),
            (C2S, "show running-config\r\n"),
            (S2C, "Password: Login incorrect"),
        ]);
        let (facts, events) = run(flow(40000, 2323), &session);
        let details: Vec<_> = events.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(details, ["Telnet login failed", "Telnet login succeeded"]);
        assert_eq!(
            facts
                .iter()
                .find(|f| f.attribute == Attribute::Description)
                .unwrap()
                .value,
            "User Access Verification"
        );
        assert!(!format!("{facts:?}").contains("secret"));
    }

    #[test]
    fn shell_and_device_prompts() {
        for prompt in [
            &b"\r\nuser@host:~$ "[..],
            b"# ",
            b"\r\nRouter#",
            b"\nSW1(config)#",
            b"RouterOS>",
        ] {
            assert!(
                is_shell_prompt(prompt),
                "{:?}",
                String::from_utf8_lossy(prompt)
            );
        }
        for text in [
            &b"\r\n% Bad passwords#x"[..],
            b"\r\n#",
            b"\r\nsee http://a/b#",
            b"Login incorrect",
        ] {
            assert!(
                !is_shell_prompt(text),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    /// The negotiation inetutils telnetd opens with (AUTHENTICATION, ENCRYPT, terminal
    /// type, speed, X display, new environment, environment), as the lab's capture shows it.
    const INETUTILS_OPENING: &str = "fffb25fffb26fffd18fffd20fffd23fffd27fffd24";

    /// Runs a session opened by `opening` (hex, from the server; "" for none) followed by
    /// `session`'s text; returns the findings (server or client, value), the description
    /// and the authentication events' details.
    fn no_login_run(
        opening: &str,
        session: Chunks<'_>,
    ) -> (Vec<(bool, String)>, Option<String>, Vec<String>) {
        let mut chunks = Vec::new();
        if !opening.is_empty() {
            chunks.push((S2C, unhex(opening)));
            chunks.push((C2S, unhex("fffc25fffc26fffc18fffc20fffc23fffc27fffc24")));
        }
        chunks.extend(session.iter().map(|(d, t)| (*d, t.to_vec())));
        let (facts, events) = run(flow(40000, 23), &chunks);
        let server = DeviceKey::Ip([192, 168, 0, 1].into());
        let findings = facts
            .iter()
            .filter(|f| f.attribute == Attribute::Finding)
            .map(|f| (f.subject == server, f.value.to_string()))
            .collect();
        let description = facts
            .iter()
            .find(|f| f.attribute == Attribute::Description)
            .map(|f| f.value.to_string());
        let logins = events.into_iter().map(|e| e.detail).collect();
        (findings, description, logins)
    }

    /// Chunks of text, each in its direction.
    type Chunks<'a> = &'a [(Direction, &'a [u8])];

    const IN_USE: (bool, &str) = (true, "telnet_in_use");
    const NO_LOGIN: (bool, &str) = (true, "telnet_without_authentication");

    fn owned(findings: &[(bool, &str)]) -> Vec<(bool, String)> {
        findings
            .iter()
            .map(|(s, f)| (*s, (*f).to_owned()))
            .collect()
    }

    #[test]
    fn shell_given_without_login_is_reported_on_the_server() {
        // inetutils telnetd -E /bin/sh: the host line, then dash's root prompt; the client
        // runs a command.
        let (findings, description, logins) = no_login_run(
            INETUTILS_OPENING,
            &[
                (
                    S2C,
                    b"\r\nLinux 6.1.0-18-amd64 (lab-shell) (pts/0)\r\n\r\n# ",
                ),
                (C2S, b"echo ironward-$((6*7))\r\n"),
                (S2C, b"ironward-42\r\n# "),
            ],
        );
        assert_eq!(findings, owned(&[IN_USE, NO_LOGIN]));
        assert_eq!(
            description.as_deref(),
            Some("Linux 6.1.0-18-amd64 (lab-shell) (pts/0)")
        );
        assert!(logins.is_empty(), "no login happened: {logins:?}");

        // busybox telnetd -l /bin/sh: the MOTD and ash's `~ # `, the prompt split across
        // segments, the client in character mode; the same whole, byte by byte and in pieces.
        let busybox: &[(Direction, &[u8])] = &[
            (
                S2C,
                b"\r\n\r\nBusyBox v1.36.1 (Debian 1:1.36.1-9) built-in shell (ash)\r\n",
            ),
            (
                S2C,
                b"Enter 'help' for a list of built-in commands.\r\n\r\n~ ",
            ),
            (S2C, b"# "),
            (C2S, b"i"),
            (S2C, b"i"),
            (C2S, b"d\r\n"),
        ];
        let (findings, description, _) = no_login_run("fffb01fffb03", busybox);
        assert_eq!(findings, owned(&[IN_USE, NO_LOGIN]));
        let motd = "BusyBox v1.36.1 (Debian 1:1.36.1-9) built-in shell (ash) Enter 'help' for \
                    a list of built-in commands.";
        assert_eq!(description.as_deref(), Some(motd));
        let bytewise: Vec<(Direction, Vec<u8>)> = busybox
            .iter()
            .flat_map(|(d, t)| t.iter().map(move |b| (*d, vec![*b])))
            .collect();
        let bytewise: Vec<(Direction, &[u8])> =
            bytewise.iter().map(|(d, t)| (*d, &t[..])).collect();
        assert_eq!(
            no_login_run("fffb01fffb03", &bytewise).0,
            owned(&[IN_USE, NO_LOGIN])
        );

        // A router's CLI with no login configured; the client's command is nowhere.
        let (findings, _, _) = no_login_run(
            "fffb01fffb03fffd18",
            &[
                (S2C, b"\r\n\r\nRouter>"),
                (C2S, b"show ip route secret-net\r"),
            ],
        );
        assert_eq!(findings, owned(&[IN_USE, NO_LOGIN]));

        // csh's `host% `; a prompt the client never answers (a scanner leaving) still was one.
        for session in [
            &[(S2C, &b"\r\nplc-gw% "[..]), (C2S, b"ls\r\n")][..],
            &[(S2C, b"\r\n/ # ")],
        ] {
            assert_eq!(
                no_login_run(INETUTILS_OPENING, session).0,
                owned(&[IN_USE, NO_LOGIN]),
                "{session:?}"
            );
        }
    }

    #[test]
    fn a_menu_answering_three_lines_without_login_is_a_shell_without_login() {
        let menu: &[(Direction, &[u8])] = &[
            (
                S2C,
                b"\r\nSerial gateway setup\r\n1) Network\r\n2) Reboot\r\nSelect: ",
            ),
            (C2S, b"1\r\n"),
            (S2C, b"IP 10.0.0.5\r\nSelect: "),
            (C2S, b"\r\n"),
            (S2C, b"Select: "),
            (C2S, b"2\r\n"),
        ];
        // Two lines answered: not yet.
        let (findings, _, _) = no_login_run(INETUTILS_OPENING, menu);
        assert_eq!(findings, owned(&[IN_USE]));
        // The third answer decides.
        let mut three = menu.to_vec();
        three.push((S2C, b"Rebooting...\r\n"));
        let (findings, description, _) = no_login_run(INETUTILS_OPENING, &three);
        assert_eq!(findings, owned(&[IN_USE, NO_LOGIN]));
        // The banner stops where the client first typed.
        assert_eq!(
            description.as_deref(),
            Some("Serial gateway setup 1) Network 2) Reboot Select:")
        );
        // A prompt not recognised as a login's, but naming a password: not this finding.
        let mut named = vec![(S2C, &b"\r\nEnter PIN: "[..])];
        named.extend_from_slice(&three[1..]);
        assert_eq!(no_login_run(INETUTILS_OPENING, &named).0, owned(&[IN_USE]));
    }

    #[test]
    fn shells_after_a_login_or_unsure_sessions_are_not_reported() {
        let cases: [(&str, &str, Chunks<'_>); 9] = [
            (
                "a login prompt first, then the shell (a login succeeded)",
                INETUTILS_OPENING,
                &[
                    (
                        S2C,
                        b"\r\nLinux (lab-telnet) (pts/0)\r\n\r\nlab-telnet login: ",
                    ),
                    (C2S, b"labuser\r\n"),
                    (S2C, b"Password:"),
                    (C2S, b"pw\r\n"),
                    (S2C, b"\r\n$ "),
                    (C2S, b"id\r\n"),
                ],
            ),
            (
                "a refused login, then the server's own text ending like a prompt",
                INETUTILS_OPENING,
                &[
                    (S2C, b"Username: "),
                    (C2S, b"a\r\n"),
                    (S2C, b"Password: "),
                    (C2S, b"b\r\n"),
                    (S2C, b"\r\n% Login invalid\r\n\r\n> "),
                    (C2S, b"c\r\n"),
                ],
            ),
            (
                "picked up mid-session: no negotiation before the shell text",
                "",
                &[(S2C, b"\r\n# "), (C2S, b"reboot\r\n")],
            ),
            (
                "a banner talking about logins",
                INETUTILS_OPENING,
                &[
                    (S2C, b"Authorized users only, all logins are recorded\r\n# "),
                    (C2S, b"ls\r\n"),
                ],
            ),
            (
                "a password prompt without a colon",
                INETUTILS_OPENING,
                &[(S2C, b"\r\nPassword> "), (C2S, b"x\r\n")],
            ),
            (
                "a banner's decoration",
                INETUTILS_OPENING,
                &[(S2C, b"\r\n##### "), (C2S, b"\r\n")],
            ),
            (
                "a device's message cut before its text (`% ` alone)",
                INETUTILS_OPENING,
                &[(S2C, b"\r\n% "), (C2S, b"\r\n")],
            ),
            (
                "the server's text goes on after what looked like a prompt",
                INETUTILS_OPENING,
                &[(S2C, b"\r\nWelcome # "), (S2C, b"to the gateway\r\n")],
            ),
            (
                "negotiation and nothing else",
                INETUTILS_OPENING,
                &[(C2S, b"\r\n")],
            ),
        ];
        for (why, opening, session) in cases {
            let (findings, _, _) = no_login_run(opening, session);
            assert_eq!(findings, owned(&[IN_USE]), "{why}");
        }

        // A gap before the prompt: a login prompt may have been lost in it.
        let flow = flow(40000, 23);
        let mut dissector = TelnetFactory.select(&flow, C2S, b"").unwrap();
        let mut out = Observations::default();
        let opening = unhex(INETUTILS_OPENING);
        for (direction, chunk) in [
            (S2C, StreamChunk::Data(&opening)),
            (S2C, StreamChunk::Gap(120)),
            (S2C, StreamChunk::Data(b"\r\n# ")),
            (C2S, StreamChunk::Data(b"ls\r\n")),
            (S2C, StreamChunk::End),
        ] {
            dissector.on_stream(&flow, direction, chunk, &mut out);
        }
        dissector.on_end(&flow, &mut out);
        let findings: Vec<_> = out
            .drain_facts()
            .filter(|f| f.attribute == Attribute::Finding)
            .map(|f| f.value.to_string())
            .collect();
        assert_eq!(findings, ["telnet_in_use"]);
    }

    #[test]
    fn open_prompts() {
        for prompt in [
            &b"\r\n~ # "[..],
            b"# ",
            b"\r\nuser@host:~$ ",
            b"host% ",
            b"\nuser@mac ~ % ",
            b"\r\nRouter>",
            b"\r\nswitch#",
        ] {
            assert!(
                is_open_shell_prompt(prompt),
                "{:?}",
                String::from_utf8_lossy(prompt)
            );
        }
        for text in [
            &b"\r\n% "[..],
            b"\r\n##### ",
            b">> ",
            b"\r\n   ",
            b"",
            b"Login incorrect\r\n",
        ] {
            assert!(
                !is_open_shell_prompt(text),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn silent_servers_reversed_roles_and_selection() {
        // The client alone: no finding, nothing.
        let (facts, events) = run(flow(40000, 23), &text(&[(C2S, "hello\r\n")]));
        assert!(facts.is_empty() && events.is_empty());
        // Reversed roles: the flow's client is on port 23; a banner without a prompt is
        // reported at the end.
        let (facts, _) = run(
            flow(23, 40000),
            &text(&[(C2S, "BusyBox v1.19.4 built-in shell\r\n# ")]),
        );
        let device = DeviceKey::Ip([192, 168, 0, 2].into());
        assert!(facts.iter().all(|f| f.subject == device));
        assert_eq!(facts.len(), 2);
        assert_eq!(facts[1].value, "BusyBox v1.19.4 built-in shell #");
        assert!(looks_like_telnet(&unhex("fffd18fffd20")));
        assert!(looks_like_telnet(&unhex("fffb01")));
        assert!(!looks_like_telnet(&unhex("fffd18ff")[..2]));
        assert!(!looks_like_telnet(&unhex("fffdc8")));
        assert!(!looks_like_telnet(&unhex("fffd1800")));
        assert!(TelnetFactory
            .select(&flow(40000, 8023), C2S, b"login: ")
            .is_none());
        assert!(TelnetFactory
            .select(&flow(40000, 8023), C2S, &unhex("fffd01"))
            .is_some());
    }
}
