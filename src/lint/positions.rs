//! Where each key and list item of a YAML text is, from the parser's own spans
//! (serde-saphyr's `Spanned`), so findings point at the line they are about.
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;

/// The line of every key (`spec.artifacts[1].chart.url`) and list item
/// (`spec.artifacts[1]`) of a YAML text.
#[derive(Debug, Default, Clone)]
pub struct Positions {
    lines: BTreeMap<String, usize>,
    pub(super) text: Vec<String>,
}

/// A YAML node read only for where its parts are.
enum Node {
    Leaf,
    Seq(Vec<serde_saphyr::Spanned<Node>>),
    Map(Vec<(serde_saphyr::Spanned<Key>, serde_saphyr::Spanned<Node>)>),
}

/// A mapping key: any scalar, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Leaf)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Node, D2::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(x) = a.next_element()? {
                    items.push(x);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = a.next_key()? {
                    let v = a.next_value()?;
                    entries.push((k, v));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

impl Positions {
    /// Positions of a YAML text; empty (every line 1) when it does not parse.
    pub fn parse(text: &str) -> Positions {
        let mut p = Positions {
            lines: BTreeMap::new(),
            text: text.lines().map(str::to_string).collect(),
        };
        if let Ok(root) = serde_saphyr::from_str::<serde_saphyr::Spanned<Node>>(text) {
            p.walk(&root.value, "");
        }
        p
    }

    fn walk(&mut self, node: &Node, path: &str) {
        match node {
            Node::Leaf => {}
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let here = format!("{path}[{i}]");
                    self.lines
                        .insert(here.clone(), item.referenced.line() as usize);
                    self.walk(&item.value, &here);
                }
            }
            Node::Map(entries) => {
                for (k, v) in entries {
                    let here = if path.is_empty() {
                        k.value.0.clone()
                    } else {
                        format!("{path}.{}", k.value.0)
                    };
                    self.lines
                        .entry(here.clone())
                        .or_insert(k.referenced.line() as usize);
                    self.walk(&v.value, &here);
                }
            }
        }
    }

    /// The line of `path`, else of the nearest enclosing key or item; 1 when none.
    pub fn line(&self, path: &str) -> usize {
        let mut p = path.to_string();
        loop {
            if let Some(l) = self.lines.get(&p) {
                return *l;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p.truncate(i),
                None => return 1,
            }
        }
    }

    /// The line in the file of line `n` (1-based) of the block scalar at `path`
    /// (`defaultValues: |`); the key's own line when the value is not a block.
    pub fn block_line(&self, path: &str, n: usize) -> usize {
        let at = self.line(path);
        let block = self
            .text
            .get(at.saturating_sub(1))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim_start().starts_with(['|', '>']))
            .unwrap_or(false);
        if block { at + n } else { at }
    }
}
