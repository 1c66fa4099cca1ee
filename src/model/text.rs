//! Building short texts from pieces without the formatting machinery: [`crate::cat!`] joins
//! strings, numbers and addresses exactly as `format!` with `{}` would show them.

use std::net::IpAddr;

/// A piece of text that knows how to append itself as its `Display` form.
pub trait Piece {
    /// Appends the piece to `out`.
    fn push_to(&self, out: &mut String);
    /// At least as many bytes as the piece takes (to size the text once).
    fn size_hint(&self) -> usize;
}

impl Piece for str {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl Piece for String {
    fn push_to(&self, out: &mut String) {
        out.push_str(self);
    }
    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl Piece for char {
    fn push_to(&self, out: &mut String) {
        out.push(*self);
    }
    fn size_hint(&self) -> usize {
        self.len_utf8()
    }
}

impl<T: Piece + ?Sized> Piece for &T {
    fn push_to(&self, out: &mut String) {
        (**self).push_to(out);
    }
    fn size_hint(&self) -> usize {
        (**self).size_hint()
    }
}

impl Piece for IpAddr {
    fn push_to(&self, out: &mut String) {
        match self {
            IpAddr::V4(a) => push_ipv4(out, *a),
            IpAddr::V6(a) => out.push_str(&a.to_string()),
        }
    }
    fn size_hint(&self) -> usize {
        match self {
            IpAddr::V4(_) => 15,
            IpAddr::V6(_) => 39,
        }
    }
}

macro_rules! unsigned_piece {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn push_to(&self, out: &mut String) {
                push_decimal(out, u64::from(*self));
            }
            fn size_hint(&self) -> usize {
                20
            }
        }
    )*};
}
unsigned_piece!(u8, u16, u32, u64);

impl Piece for usize {
    fn push_to(&self, out: &mut String) {
        push_decimal(out, *self as u64);
    }
    fn size_hint(&self) -> usize {
        20
    }
}

impl Piece for ipnet::IpNet {
    fn push_to(&self, out: &mut String) {
        match self {
            ipnet::IpNet::V4(n) => {
                push_ipv4(out, n.addr());
                out.push('/');
                push_decimal(out, u64::from(n.prefix_len()));
            }
            ipnet::IpNet::V6(n) => out.push_str(&n.to_string()),
        }
    }
    fn size_hint(&self) -> usize {
        match self {
            ipnet::IpNet::V4(_) => 18,
            ipnet::IpNet::V6(_) => 43,
        }
    }
}

impl Piece for ipnet::Ipv4Net {
    fn push_to(&self, out: &mut String) {
        push_ipv4(out, self.addr());
        out.push('/');
        push_decimal(out, u64::from(self.prefix_len()));
    }
    fn size_hint(&self) -> usize {
        18
    }
}

impl Piece for super::Protocol {
    fn push_to(&self, out: &mut String) {
        use super::Protocol;
        match self {
            Protocol::Tcp => out.push_str("tcp"),
            Protocol::Udp => out.push_str("udp"),
            Protocol::Icmp => out.push_str("icmp"),
            Protocol::Icmpv6 => out.push_str("icmpv6"),
            Protocol::Sctp => out.push_str("sctp"),
            Protocol::Other(n) => push_decimal(out, u64::from(*n)),
        }
    }
    fn size_hint(&self) -> usize {
        6
    }
}

impl Piece for super::PortRange {
    fn push_to(&self, out: &mut String) {
        push_decimal(out, u64::from(self.lo));
        if self.lo != self.hi {
            out.push('-');
            push_decimal(out, u64::from(self.hi));
        }
    }
    fn size_hint(&self) -> usize {
        11
    }
}

/// Appends an IPv4 address in dotted decimal, as `Display` shows it.
pub fn push_ipv4(out: &mut String, ip: std::net::Ipv4Addr) {
    out.reserve(15);
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if o >= 100 {
            out.push(char::from(b'0' + o / 100));
        }
        if o >= 10 {
            out.push(char::from(b'0' + (o / 10) % 10));
        }
        out.push(char::from(b'0' + o % 10));
    }
}

/// Appends a number in decimal.
pub fn push_decimal(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.reserve(buf.len() - at);
    for &d in &buf[at..] {
        out.push(char::from(d));
    }
}

/// Joins pieces ([`Piece`]: strings, chars, unsigned numbers, IP addresses) into a new
/// `String`, as `format!` with one `{}` per piece would. Each piece is evaluated once, in
/// order; the text is sized once from the pieces' size hints.
#[macro_export]
macro_rules! cat {
    ($($piece:expr),* $(,)?) => {
        $crate::__cat_pieces!([] $($piece),*)
    };
}

/// The body of [`cat!`]: binds each piece to its own name (one `match` per piece, so that
/// temporaries live to the end), then sizes the text and appends the pieces without dynamic
/// dispatch.
#[doc(hidden)]
#[macro_export]
macro_rules! __cat_pieces {
    ([$($bound:ident)*] $head:expr $(, $rest:expr)*) => {
        match &$head {
            piece => $crate::__cat_pieces!([$($bound)* piece] $($rest),*),
        }
    };
    ([$($bound:ident)*]) => {{
        let mut out = String::with_capacity(
            0 $(+ $crate::model::text::Piece::size_hint($bound))*,
        );
        $($crate::model::text::Piece::push_to($bound, &mut out);)*
        out
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_show_as_display_does() {
        let v4: IpAddr = "10.20.3.255".parse().unwrap();
        let v6: IpAddr = "fd00::1:2".parse().unwrap();
        let owned = String::from("owned");
        let s = crate::cat!(
            "a ",
            owned,
            ' ',
            v4,
            " ",
            v6,
            ":",
            0u16,
            "/",
            65535u16,
            " ",
            7usize,
            " ",
            u64::MAX,
            " ",
            255u8
        );
        assert_eq!(
            s,
            format!(
                "a {owned} {v4} {v6}:{}/{} {} {} {}",
                0u16,
                65535u16,
                7usize,
                u64::MAX,
                255u8
            )
        );
        for net in ["10.1.2.3/24", "0.0.0.0/0", "fd00::/8"] {
            let net: ipnet::IpNet = net.parse().unwrap();
            assert_eq!(crate::cat!(net), net.to_string());
        }
        for net in ["10.1.2.3/24", "0.0.0.0/0", "255.255.255.255/32"] {
            let net: ipnet::Ipv4Net = net.parse().unwrap();
            assert_eq!(crate::cat!(net), net.to_string());
        }
        for p in [
            super::super::Protocol::Tcp,
            super::super::Protocol::Udp,
            super::super::Protocol::Icmp,
            super::super::Protocol::Icmpv6,
            super::super::Protocol::Sctp,
            super::super::Protocol::Other(47),
        ] {
            assert_eq!(crate::cat!(p), p.to_string());
        }
        for r in [
            super::super::PortRange::single(80),
            super::super::PortRange::new(1024, 65535),
        ] {
            assert_eq!(crate::cat!(r), r.to_string());
        }
        for ip in ["0.0.0.0", "1.20.100.255", "9.99.199.250", "255.255.255.255"] {
            let ip: std::net::Ipv4Addr = ip.parse().unwrap();
            let mut t = String::new();
            push_ipv4(&mut t, ip);
            assert_eq!(t, ip.to_string());
        }
        for n in [0u64, 9, 10, 99, 100, 12345, 4_294_967_296, u64::MAX] {
            let mut t = String::new();
            push_decimal(&mut t, n);
            assert_eq!(t, n.to_string());
        }
    }
}
