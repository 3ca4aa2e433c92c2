//! Mutations for the stable harness: byte-level (flips, inserts, deletes,
//! splices) and structure-aware (base64url segments decoded, their JSON
//! mutated and encoded again; duplicated members; deep nesting; numeric and
//! unicode edge values).

use jwtgate::{base64url_decode, base64url_encode};
use serde_json::Value;

/// A small, seedable PRNG (xorshift64*), so a run can be replayed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability 1/n.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A random element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Interesting fragments: JOSE and policy names, algorithm spellings,
/// numeric and unicode edge cases, JSON punctuation.
pub const DICTIONARY: &[&str] = &[
    "\"alg\"",
    "\"none\"",
    "\"None\"",
    "\"NONE\"",
    "\"nOnE\"",
    "\"RS256\"",
    "\"HS256\"",
    "\"ES256\"",
    "\"PS256\"",
    "\"EdDSA\"",
    "\"ES512\"",
    "\"HS512\"",
    "\"kid\"",
    "\"typ\"",
    "\"cty\"",
    "\"jku\"",
    "\"x5u\"",
    "\"x5c\"",
    "\"jwk\"",
    "\"crit\"",
    "\"b64\"",
    "\"zip\"",
    "\"iss\"",
    "\"sub\"",
    "\"aud\"",
    "\"exp\"",
    "\"nbf\"",
    "\"iat\"",
    "\"jti\"",
    "\"scope\"",
    "\"roles\"",
    "\"realm_access\"",
    "\"keys\"",
    "\"kty\"",
    "\"RSA\"",
    "\"EC\"",
    "\"OKP\"",
    "\"oct\"",
    "\"crv\"",
    "\"P-256\"",
    "\"P-521\"",
    "\"Ed25519\"",
    "\"n\"",
    "\"e\"",
    "\"x\"",
    "\"y\"",
    "\"k\"",
    "\"use\"",
    "\"sig\"",
    "\"enc\"",
    "\"key_ops\"",
    "\"verify\"",
    "\"issuers\"",
    "\"issuer\"",
    "\"audiences\"",
    "\"algorithms\"",
    "\"claims\"",
    "\"forward\"",
    "\"claims_to_headers\"",
    "\"payload_header\"",
    "\"require\"",
    "\"leeway_s\"",
    "\"max_age_s\"",
    "\"iat_as_nbf\"",
    "\"regex\"",
    "\"equals\"",
    "\"one_of\"",
    "\"contains_all\"",
    "\"contains_any\"",
    "\"required\"",
    "\"token_sources\"",
    "\"max_token_bytes\"",
    "\"cache\"",
    "\"max_entries\"",
    "\"hmac_secret\"",
    "\"pem\"",
    "\"jwks\"",
    "\"backup_pem\"",
    "\"allowed_jku\"",
    "\"header\"",
    "\"cookie\"",
    "\"query\"",
    "\"scheme\"",
    "\"/a/b\"",
    "\"~1\"",
    "\"~0\"",
    "\"~\"",
    "0",
    "-0",
    "-1",
    "1e308",
    "1e309",
    "-1e400",
    "1.5",
    "9007199254740993",
    "18446744073709551616",
    "-9223372036854775809",
    "1E2",
    "0.0000001",
    "1700000000",
    "1700000000.5",
    "null",
    "true",
    "false",
    "\"\"",
    "[]",
    "{}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\u0061lg\"",
    "\"R\\u0053256\"",
    "\"\u{ff32}S256\"",
    "\"RS256\u{200b}\"",
    "\"\u{130}\"",
    "\"\\r\\nX: 1\"",
    "\"\u{202e}\"",
    "\"\u{feff}\"",
    ",",
    ":",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    ".",
    "..",
    "=",
    "+",
    "/",
    "-",
    "_",
    " ",
    "\n",
    "\t",
    "\u{0}",
];

/// Edge values put in place of a JSON value.
fn edge_value(rng: &mut Rng) -> Value {
    let choices: [fn(&mut Rng) -> Value; 16] = [
        |_| Value::Null,
        |_| Value::Bool(true),
        |_| serde_json::json!(-1),
        |_| serde_json::json!(0),
        |_| serde_json::json!(1_700_000_000),
        |_| serde_json::json!(1_700_000_000.5),
        |_| serde_json::json!(f64::MAX),
        |_| serde_json::json!(f64::MIN_POSITIVE),
        |_| serde_json::json!(u64::MAX),
        |_| serde_json::json!(i64::MIN),
        |_| serde_json::json!("1700000600"),
        |_| serde_json::json!("\u{0}\r\n"),
        |_| serde_json::json!(["user", "admin", "read"]),
        |_| serde_json::json!({}),
        |r| Value::String("x".repeat(1 + r.below(2000))),
        |r| {
            let mut v = Value::from(1);
            for _ in 0..r.below(40) {
                v = Value::Array(vec![v]);
            }
            v
        },
    ];
    rng.pick(&choices)(rng)
}

/// Replaces, removes or adds one member somewhere in a JSON value.
fn mutate_value(value: &mut Value, rng: &mut Rng, depth: usize) {
    match value {
        Value::Object(map) if !map.is_empty() && (depth > 3 || !rng.one_in(3)) => {
            let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
            match rng.below(6) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    let name = rng.pick(DICTIONARY).trim_matches('"').to_owned();
                    map.insert(name, edge_value(rng));
                }
                2 => {
                    let v = map.remove(&key).unwrap_or(Value::Null);
                    map.insert(format!("{key}\u{0}"), v);
                }
                _ => mutate_value(map.get_mut(&key).expect("key exists"), rng, depth + 1),
            }
        }
        Value::Array(items) if !items.is_empty() && !rng.one_in(3) => {
            let i = rng.below(items.len());
            match rng.below(4) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                _ => mutate_value(&mut items[i], rng, depth + 1),
            }
        }
        _ => *value = edge_value(rng),
    }
}

/// Mutates JSON text: through a parsed value, or as text (a duplicated
/// member, deep nesting), keeping it JSON-ish.
pub fn mutate_json(text: &[u8], rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => {
            // Duplicate the first member (the verifier must reject duplicates).
            if let Some(open) = text.iter().position(|b| *b == b'{') {
                let body = &text[open + 1..];
                let end = member_end(body);
                if end > 0 {
                    let mut out = text[..=open].to_vec();
                    out.extend_from_slice(&body[..end]);
                    out.push(b',');
                    out.extend_from_slice(body);
                    return out;
                }
            }
            text.to_vec()
        }
        1 => {
            let depth = 20 + rng.below(30);
            let (open, close) = if rng.one_in(2) { ("[", "]") } else { ("{\"a\":", "}") };
            let bomb = format!("\"deep\":{}1{}", open.repeat(depth), close.repeat(depth));
            let mut out = text.to_vec();
            match text.iter().position(|b| *b == b'{') {
                Some(i) => {
                    out.splice(i + 1..i + 1, format!("{bomb},").into_bytes());
                }
                None => {
                    out.splice(0..0, open.repeat(depth).into_bytes());
                    out.extend_from_slice(close.repeat(depth).as_bytes());
                }
            }
            out
        }
        _ => match serde_json::from_slice::<Value>(text) {
            Ok(mut value) => {
                for _ in 0..1 + rng.below(3) {
                    mutate_value(&mut value, rng, 0);
                }
                value.to_string().into_bytes()
            }
            Err(_) => mutate_bytes(text, rng, &[]),
        },
    }
}

/// The length of the first `"name":value` member of an object body, or 0.
fn member_end(body: &[u8]) -> usize {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in body.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return i,
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => return i,
            _ => {}
        }
    }
    0
}

/// One to a few byte-level mutations; `others` supplies splice material.
pub fn mutate_bytes(data: &[u8], rng: &mut Rng, others: &[&[u8]]) -> Vec<u8> {
    let mut out = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = *rng.pick(b"\0\xff.\"{}[],:\\-_=+/ AZaz09\x7f\x80\xc0\xed");
            }
            2 => {
                let i = rng.below(len + 1);
                let word = rng.pick(DICTIONARY).as_bytes().to_vec();
                out.splice(i..i, word);
            }
            3 => {
                let i = rng.below(len + 1);
                out.insert(i, rng.next_u64() as u8);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                out.drain(i..i + n);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let copy = out[i..i + n].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, copy);
            }
            6 if !others.is_empty() => {
                let other = rng.pick(others);
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let n = 1 + rng.below(other.len() - from);
                    let at = rng.below(len + 1);
                    let cut = if rng.one_in(2) { len } else { (at + n).min(len) };
                    out.splice(at..cut, other[from..from + n].iter().copied());
                }
            }
            7 if len > 0 => out.truncate(rng.below(len)),
            _ => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let b = rng.next_u64() as u8;
                out.splice(i..i, std::iter::repeat_n(b, n));
            }
        }
    }
    out
}

/// Mutates a compact token: a segment's decoded JSON, a segment swapped in
/// from another token, the dots, or the raw bytes.
pub fn mutate_token(token: &[u8], rng: &mut Rng, others: &[&[u8]]) -> Vec<u8> {
    let parts: Vec<&[u8]> = token.split(|b| *b == b'.').collect();
    match rng.below(6) {
        0 | 1 if parts.len() >= 2 => {
            let i = usize::from(rng.one_in(2));
            let Some(json) = base64url_decode(parts[i]) else { return mutate_bytes(token, rng, others) };
            let mutated = base64url_encode(mutate_json(&json, rng));
            join(&parts, i, mutated.as_bytes())
        }
        2 if !others.is_empty() => {
            let other: Vec<&[u8]> = rng.pick(others).split(|b| *b == b'.').collect();
            let i = rng.below(parts.len());
            let j = rng.below(other.len());
            join(&parts, i, other[j])
        }
        3 if parts.len() == 3 => {
            // Change the signature: drop it, cut it, flip a decoded bit.
            let sig = base64url_decode(parts[2]).unwrap_or_default();
            let new = match rng.below(3) {
                0 => Vec::new(),
                1 => sig[..rng.below(sig.len() + 1)].to_vec(),
                _ => mutate_bytes(&sig, rng, &[]),
            };
            join(&parts, 2, base64url_encode(new).as_bytes())
        }
        _ => mutate_bytes(token, rng, others),
    }
}

fn join(parts: &[&[u8]], replace: usize, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(if i == replace { with } else { p });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_end_finds_the_first_member() {
        assert_eq!(member_end(br#""a":1,"b":2}"#), 5);
        assert_eq!(member_end(br#""a":{"x":[1,2]},"b":2}"#), 15);
        assert_eq!(member_end(br#""a":"}\",","b":2}"#), 10);
    }

    #[test]
    fn json_mutations_duplicate_and_nest() {
        let mut rng = Rng::new(1);
        let mut saw_duplicate = false;
        let mut saw_deep = false;
        for _ in 0..200 {
            let out = mutate_json(br#"{"alg":"RS256","kid":"k"}"#, &mut rng);
            let text = String::from_utf8_lossy(&out);
            saw_duplicate |= text.matches("\"alg\"").count() == 2;
            saw_deep |= text.contains("[[[[[[[[[[[[[[[[[[[[");
        }
        assert!(saw_duplicate && saw_deep);
    }

    #[test]
    fn token_mutations_change_the_token() {
        let mut rng = Rng::new(7);
        let token = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        let changed = (0..100).filter(|_| mutate_token(token, &mut rng, &[]) != token).count();
        assert!(changed > 90, "{changed}");
    }
}
