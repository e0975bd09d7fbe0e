//! The shape of `profile.yaml` as the model's serde structs ([`super::raw`]) declare
//! it: every known field with what it holds and whether it is required, read from
//! the structs themselves (a probing deserializer walks them once), so that `pctl
//! lint` knows exactly the fields install reads and no second table can drift.
use super::raw::RawDefinition;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

/// What a field of profile.yaml holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Text (a string field: a number or boolean is read as its text).
    Text,
    Bool,
    Number,
    /// Any YAML value.
    Any,
    List(Box<Shape>),
    /// A mapping from any keys to values of one shape.
    Map(Box<Shape>),
    /// A mapping with named fields.
    Struct(Fields),
}

/// The fields of a mapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    pub fields: Vec<Field>,
    /// Other keys are accepted (and ignored), as under `metadata`.
    pub open: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The name as written in profile.yaml (`dependsOn`, `type`).
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
}

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }
}

/// The shape of a current (`weave.works/v1alpha1`) definition.
pub fn definition() -> &'static Shape {
    static SHAPE: OnceLock<Shape> = OnceLock::new();
    SHAPE.get_or_init(probe_all::<RawDefinition>)
}

/// Every field path of `shape` (`spec.artifacts[].chart.url`), depth first.
pub fn paths(shape: &Shape) -> Vec<String> {
    fn walk(s: &Shape, at: &str, out: &mut Vec<String>) {
        match s {
            Shape::List(item) => walk(item, &format!("{at}[]"), out),
            Shape::Map(v) => walk(v, &format!("{at}{{}}"), out),
            Shape::Struct(f) => {
                for x in &f.fields {
                    let here = if at.is_empty() {
                        x.name.to_string()
                    } else {
                        format!("{at}.{}", x.name)
                    };
                    out.push(here.clone());
                    walk(&x.shape, &here, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(shape, "", &mut out);
    out
}

// ---------------------------------------------------------------- the probe

/// Probe `T`: its shape, then each field once left out (is it required?) and each
/// struct once given an unknown key (does it refuse it?).
fn probe_all<'de, T: Deserialize<'de>>() -> Shape {
    let run = |plan: Plan| -> (Shape, Result<(), String>) {
        let slot = Slot::default();
        let probe = Probe {
            at: String::new(),
            plan: Rc::new(plan),
            slot: slot.clone(),
        };
        let result = T::deserialize(probe).map(|_| ()).map_err(|e| e.0);
        (slot.take(), result)
    };
    let (mut shape, result) = run(Plan::default());
    if let Err(e) = result {
        panic!("the profile schema cannot be probed: {e}");
    }
    fn mark(s: &mut Shape, at: &str, run: &dyn Fn(Plan) -> (Shape, Result<(), String>)) {
        match s {
            Shape::List(item) => mark(item, &format!("{at}[]"), run),
            Shape::Map(v) => mark(v, &format!("{at}{{}}"), run),
            Shape::Struct(f) => {
                let (_, r) = run(Plan {
                    extra: Some(at.to_string()),
                    ..Default::default()
                });
                f.open = r.is_ok();
                for x in &mut f.fields {
                    let here = if at.is_empty() {
                        x.name.to_string()
                    } else {
                        format!("{at}.{}", x.name)
                    };
                    let (_, r) = run(Plan {
                        omit: Some(here.clone()),
                        ..Default::default()
                    });
                    x.required = r.is_err_and(|e| e == format!("missing {}", x.name));
                    mark(&mut x.shape, &here, run);
                }
            }
            _ => {}
        }
    }
    mark(&mut shape, "", &run);
    shape
}

/// A variation of the probe: a field left out, or an unknown key added to a struct.
#[derive(Default)]
struct Plan {
    omit: Option<String>,
    extra: Option<String>,
}

const UNKNOWN: &str = "pctl-probe-unknown-field";

#[derive(Clone, Default)]
struct Slot(Rc<RefCell<Option<Shape>>>);

impl Slot {
    fn set(&self, s: Shape) {
        *self.0.borrow_mut() = Some(s);
    }
    fn take(&self) -> Shape {
        self.0.borrow_mut().take().unwrap_or(Shape::Any)
    }
}

#[derive(Debug)]
struct ProbeError(String);

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ProbeError(msg.to_string())
    }
    fn missing_field(field: &'static str) -> Self {
        ProbeError(format!("missing {field}"))
    }
    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        ProbeError(format!("unknown {field}"))
    }
}

/// A deserializer that answers every request with a minimal value and records what
/// was asked for in its slot.
struct Probe {
    /// The field path (`spec.artifacts[].chart`).
    at: String,
    plan: Rc<Plan>,
    slot: Slot,
}

impl Probe {
    fn child(&self, at: String) -> (Probe, Slot) {
        let slot = Slot::default();
        (
            Probe {
                at,
                plan: self.plan.clone(),
                slot: slot.clone(),
            },
            slot,
        )
    }
}

/// One item of a list, or one value of a mapping.
struct One {
    probe: Option<Probe>,
    key: bool,
}

impl<'de> SeqAccess<'de> for One {
    type Error = ProbeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ProbeError> {
        match self.probe.take() {
            Some(p) => seed.deserialize(p).map(Some),
            None => Ok(None),
        }
    }
}

impl<'de> MapAccess<'de> for One {
    type Error = ProbeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        if self.probe.is_none() || self.key {
            return Ok(None);
        }
        self.key = true;
        seed.deserialize("key".into_deserializer()).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ProbeError> {
        match self.probe.take() {
            Some(p) => seed.deserialize(p),
            None => Err(ProbeError("no value".into())),
        }
    }
}

/// The fields of a struct, each with its own probe.
struct Each {
    entries: std::vec::IntoIter<(&'static str, Probe)>,
    next: Option<Probe>,
}

impl<'de> MapAccess<'de> for Each {
    type Error = ProbeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        let Some((name, probe)) = self.entries.next() else {
            return Ok(None);
        };
        self.next = Some(probe);
        seed.deserialize(name.into_deserializer()).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ProbeError> {
        match self.next.take() {
            Some(p) => seed.deserialize(p),
            None => Err(ProbeError("no value".into())),
        }
    }
}

impl<'de> de::Deserializer<'de> for Probe {
    type Error = ProbeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.slot.set(Shape::Any);
        v.visit_unit()
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.slot.set(Shape::Bool);
        v.visit_bool(false)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.slot.set(Shape::Number);
        v.visit_f64(0.0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.deserialize_f64(v)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.slot.set(Shape::Number);
        v.visit_u64(0)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.deserialize_u64(v)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.slot.set(Shape::Text);
        v.visit_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        self.deserialize_str(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        v.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, ProbeError> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        let (item, slot) = self.child(format!("{}[]", self.at));
        let r = v.visit_seq(One {
            probe: Some(item),
            key: false,
        });
        self.slot.set(Shape::List(Box::new(slot.take())));
        r
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ProbeError> {
        let (value, slot) = self.child(format!("{}{{}}", self.at));
        let r = v.visit_map(One {
            probe: Some(value),
            key: false,
        });
        self.slot.set(Shape::Map(Box::new(slot.take())));
        r
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, ProbeError> {
        let mut entries = Vec::new();
        let mut slots = Vec::new();
        for f in fields {
            let here = if self.at.is_empty() {
                f.to_string()
            } else {
                format!("{}.{f}", self.at)
            };
            let (p, slot) = self.child(here.clone());
            slots.push((*f, slot));
            if self.plan.omit.as_deref() != Some(here.as_str()) {
                entries.push((*f, p));
            }
        }
        if self.plan.extra.as_deref() == Some(self.at.as_str()) {
            let (p, _) = self.child(format!("{}.{UNKNOWN}", self.at));
            entries.push((UNKNOWN, p));
        }
        let r = v.visit_map(Each {
            entries: entries.into_iter(),
            next: None,
        });
        self.slot.set(Shape::Struct(Fields {
            fields: slots
                .into_iter()
                .map(|(name, slot)| Field {
                    name,
                    shape: slot.take(),
                    required: false,
                })
                .collect(),
            open: false,
        }));
        r
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 char bytes byte_buf unit unit_struct tuple
        tuple_struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_reads_every_field_of_the_model() {
        let Shape::Struct(root) = definition() else {
            panic!("not a struct")
        };
        assert_eq!(root.names(), ["apiVersion", "kind", "metadata", "spec"]);
        assert!(root.fields.iter().all(|f| f.required));
        let Some(Shape::Struct(meta)) = root.get("metadata").map(|f| &f.shape) else {
            panic!("metadata")
        };
        assert!(meta.open, "metadata takes any key");
        let paths = paths(definition());
        for p in [
            "spec.parameters[].type",
            "spec.parameters[].enum",
            "spec.presets",
            "spec.artifacts[].chart.defaultValues",
            "spec.artifacts[].chart.release",
            "spec.artifacts[].profile.source.tag",
            "spec.artifacts[].profile.with",
            "spec.artifacts[].dependsOn[].name",
        ] {
            assert!(paths.contains(&p.to_string()), "{p} in {paths:?}");
        }
    }
}
