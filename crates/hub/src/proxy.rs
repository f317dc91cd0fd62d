//! The PROXY protocol (versions 1 and 2, as HAProxy sends them with `send-proxy-v2`): a load
//! balancer in TCP mode, so that mutual TLS ends at the hub nodes, tells the node the client's
//! real address in a short header before the TLS bytes. Read only from the addresses in
//! `trusted_proxies`, and required from them; anyone else's connection is TLS from its first
//! byte, so that nobody can claim another address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::io::AsyncReadExt as _;

const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest header we accept (v2 addresses and TLVs): HAProxy's are far shorter.
const V2_MAX_LEN: usize = 1024;
/// The longest v1 line, CRLF included (the specification's bound).
const V1_MAX_LEN: usize = 107;

/// What a header said: the client's address, or nothing (a `LOCAL` connection: the balancer's
/// own health check, or an address family without one).
pub type Source = Option<SocketAddr>;

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("PROXY protocol: {what}"))
}

/// Reads one header from `r`, exactly its bytes (what follows is the TLS handshake).
pub async fn read_header<R: tokio::io::AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Source> {
    let mut head = [0u8; 16];
    r.read_exact(&mut head[..12]).await?;
    if head[..12] == V2_SIGNATURE {
        r.read_exact(&mut head[12..]).await?;
        let len = usize::from(u16::from_be_bytes([head[14], head[15]]));
        if len > V2_MAX_LEN {
            return Err(bad("header too long"));
        }
        let mut rest = vec![0u8; len];
        r.read_exact(&mut rest).await?;
        return parse_v2(&head, &rest);
    }
    if !head.starts_with(b"PROXY ") {
        return Err(bad("no header from a trusted proxy"));
    }
    let mut line = head[..12].to_vec();
    while !line.ends_with(b"\r\n") {
        if line.len() >= V1_MAX_LEN {
            return Err(bad("v1 line too long"));
        }
        line.push(r.read_u8().await?);
    }
    parse_v1(&line)
}

/// A v2 header: the 16 fixed bytes and the `len` that follow.
pub fn parse_v2(head: &[u8; 16], rest: &[u8]) -> std::io::Result<Source> {
    if head[..12] != V2_SIGNATURE || head[12] >> 4 != 2 {
        return Err(bad("not version 2"));
    }
    match head[12] & 0x0f {
        0 => return Ok(None), // LOCAL: the balancer speaks for itself.
        1 => {}
        _ => return Err(bad("unknown command")),
    }
    let addr = match head[13] >> 4 {
        1 if rest.len() >= 12 => {
            let ip = Ipv4Addr::new(rest[0], rest[1], rest[2], rest[3]);
            Some(SocketAddr::new(IpAddr::V4(ip), u16::from_be_bytes([rest[8], rest[9]])))
        }
        2 if rest.len() >= 36 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&rest[..16]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(b)), u16::from_be_bytes([rest[32], rest[33]])))
        }
        0 | 3 => None,
        _ => return Err(bad("address too short for its family")),
    };
    Ok(addr)
}

/// A v1 line, `PROXY TCP4 src dst sport dport\r\n` or `PROXY UNKNOWN…\r\n`.
pub fn parse_v1(line: &[u8]) -> std::io::Result<Source> {
    let text = std::str::from_utf8(line).map_err(|_| bad("v1 line not ASCII"))?;
    let text = text.strip_suffix("\r\n").ok_or_else(|| bad("v1 line without CRLF"))?;
    let mut parts = text.split(' ');
    if parts.next() != Some("PROXY") {
        return Err(bad("v1 line without PROXY"));
    }
    match parts.next() {
        Some("UNKNOWN") => Ok(None),
        Some(fam @ ("TCP4" | "TCP6")) => {
            let fields: Vec<&str> = parts.collect();
            let [src, dst, sport, dport] = fields[..] else { return Err(bad("v1 line needs two addresses and two ports")) };
            let ip: IpAddr = src.parse().map_err(|_| bad("v1 source address"))?;
            let dst: IpAddr = dst.parse().map_err(|_| bad("v1 destination address"))?;
            let port: u16 = sport.parse().map_err(|_| bad("v1 source port"))?;
            dport.parse::<u16>().map_err(|_| bad("v1 destination port"))?;
            if ip.is_ipv4() != (fam == "TCP4") || dst.is_ipv4() != (fam == "TCP4") {
                return Err(bad("v1 address of the wrong family"));
            }
            Ok(Some(SocketAddr::new(ip, port)))
        }
        _ => Err(bad("v1 unknown protocol")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v2(cmd: u8, fam: u8, addr: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | cmd);
        h.push(fam);
        h.extend_from_slice(&(addr.len() as u16).to_be_bytes());
        h.extend_from_slice(addr);
        h
    }

    async fn read(bytes: &[u8]) -> (std::io::Result<Source>, Vec<u8>) {
        let mut r = bytes;
        let got = read_header(&mut r).await;
        (got, r.to_vec())
    }

    #[tokio::test]
    async fn haproxy_headers_give_the_client_and_leave_the_tls_bytes() {
        let mut a = vec![192, 0, 2, 7, 10, 0, 0, 1];
        a.extend_from_slice(&50_123u16.to_be_bytes());
        a.extend_from_slice(&8443u16.to_be_bytes());
        a.extend_from_slice(&[0x03, 0x00, 0x01, 0x00]); // a TLV, ignored
        let mut bytes = v2(1, 0x11, &a);
        bytes.extend_from_slice(b"\x16\x03\x01TLS");
        let (got, rest) = read(&bytes).await;
        assert_eq!(got.unwrap(), Some("192.0.2.7:50123".parse().unwrap()));
        assert_eq!(rest, b"\x16\x03\x01TLS", "exactly the header is read");

        let mut a6 = "2001:db8::5".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        a6.extend_from_slice(&[0; 16]);
        a6.extend_from_slice(&[0x01, 0xbb, 0x20, 0xfb]);
        assert_eq!(read(&v2(1, 0x21, &a6)).await.0.unwrap(), Some("[2001:db8::5]:443".parse().unwrap()));
        assert_eq!(read(&v2(0, 0x00, &[])).await.0.unwrap(), None, "LOCAL: a health check");

        let (got, rest) = read(b"PROXY TCP4 198.51.100.9 10.0.0.1 40000 8443\r\n\x16rest").await;
        assert_eq!((got.unwrap(), rest.as_slice()), (Some("198.51.100.9:40000".parse().unwrap()), &b"\x16rest"[..]));
        assert_eq!(read(b"PROXY TCP6 2001:db8::1 ::1 1 2\r\n").await.0.unwrap(), Some("[2001:db8::1]:1".parse().unwrap()));
        assert_eq!(read(b"PROXY UNKNOWN\r\n").await.0.unwrap(), None);
    }

    #[tokio::test]
    async fn anything_else_is_refused() {
        for bytes in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00"[..],  // TLS without a header
            b"PROXY TCP4 198.51.100.9 10.0.0.1 40000\r\n",                 // no port
            b"PROXY TCP4 2001:db8::1 ::1 1 2\r\n",                         // wrong family
            b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 and on and on and on and on and on and on and on and on and on and on and on and on and on\r\n",
            b"PROXY TCP4 1.2",                                             // cut short
        ] {
            assert!(read(bytes).await.0.is_err(), "{:?}", String::from_utf8_lossy(bytes));
        }
        assert!(read(&v2(1, 0x11, &[1, 2, 3])).await.0.is_err(), "address too short");
        assert!(read(&v2(2, 0x11, &[0; 12])).await.0.is_err(), "unknown command");
        let mut long = V2_SIGNATURE.to_vec();
        long.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert!(read(&long).await.0.is_err(), "a declared length past the bound is refused before reading it");
    }

    proptest! {
        #[test]
        fn no_input_panics_or_reads_past_its_header(bytes in proptest::collection::vec(any::<u8>(), 0..300), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let mut input = bytes.clone();
            input.extend_from_slice(&tail);
            let (got, rest) = rt.block_on(read(&input));
            if got.is_ok() {
                prop_assert!(rest.len() <= input.len());
            }
        }

        #[test]
        fn every_v2_inet_header_gives_its_source(a in any::<[u8; 4]>(), port in any::<u16>(), tlv in proptest::collection::vec(any::<u8>(), 0..64)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let mut addr = a.to_vec();
            addr.extend_from_slice(&[10, 0, 0, 1]);
            addr.extend_from_slice(&port.to_be_bytes());
            addr.extend_from_slice(&[0x20, 0xfb]);
            addr.extend_from_slice(&tlv);
            let mut bytes = v2(1, 0x11, &addr);
            bytes.extend_from_slice(b"next");
            let (got, rest) = rt.block_on(read(&bytes));
            prop_assert_eq!(got.unwrap(), Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port)));
            prop_assert_eq!(rest, b"next".to_vec());
        }
    }
}
