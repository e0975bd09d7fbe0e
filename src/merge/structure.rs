//! The structural YAML merge behind the three-way merge: documents matched by
//! identity, mappings key by key, named lists by name (see the `merge` module).
use super::*;

pub(super) fn parse_documents(path: &str, bytes: &[u8]) -> Option<Vec<Value>> {
    let text = std::str::from_utf8(bytes).ok()?;
    yaml::documents(path, text).ok()
}

pub(super) fn same_documents(path: &str, a: &[u8], b: &[u8]) -> bool {
    match (parse_documents(path, a), parse_documents(path, b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Structural merge; None when a side does not parse (or cannot be written back).
pub(super) fn merge_yaml(
    path: &str,
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    strategy: Strategy,
) -> Option<FileMerge> {
    let base_docs = parse_documents(path, base)?;
    let ours_docs = parse_documents(path, ours)?;
    let theirs_docs = parse_documents(path, theirs)?;
    let (merged_ours, conflicts) =
        merge_documents(&base_docs, &ours_docs, &theirs_docs, Side::Ours);
    let (merged_theirs, _) = merge_documents(&base_docs, &ours_docs, &theirs_docs, Side::Theirs);
    let lines = Lines::merge(base, ours, theirs);
    let header = comment_header(std::str::from_utf8(ours).ok()?);
    let faithful =
        |bytes: &[u8], docs: &[Value]| parse_documents(path, bytes).is_some_and(|d| d == docs);
    // The best text for `docs`: the line merge's, ours', theirs', else written anew.
    let text_of = |docs: &[Value], side: Side| -> Option<Vec<u8>> {
        let resolved = lines.resolve(side);
        if faithful(&resolved, docs) {
            Some(resolved)
        } else if docs == ours_docs.as_slice() {
            Some(ours.to_vec())
        } else if docs == theirs_docs.as_slice() {
            Some(theirs.to_vec())
        } else {
            write_documents(docs, header).map(String::into_bytes)
        }
    };
    let mut merge = FileMerge {
        path: path.to_string(),
        result: None,
        conflicts: Vec::new(),
        resolved: Vec::new(),
    };
    if conflicts.is_empty() {
        merge.result = Some(text_of(&merged_ours, Side::Ours)?);
        return Some(merge);
    }
    match strategy {
        Strategy::Ours => {
            merge.result = Some(text_of(&merged_ours, Side::Ours)?);
            merge.resolved = conflicts;
        }
        Strategy::Theirs => {
            merge.result = Some(text_of(&merged_theirs, Side::Theirs)?);
            merge.resolved = conflicts;
        }
        Strategy::Merge => {
            let marked = if lines.conflicts() > 0
                && faithful(&lines.resolve(Side::Ours), &merged_ours)
                && faithful(&lines.resolve(Side::Theirs), &merged_theirs)
            {
                lines.with_markers().0
            } else {
                let o = write_documents(&merged_ours, header)?;
                let t = write_documents(&merged_theirs, header)?;
                Lines::compare(&o, &t).with_markers().0
            };
            merge.result = Some(marked);
            merge.conflicts = conflicts;
        }
    }
    Some(merge)
}

/// The comment lines (and blank lines between them) that open `text`.
pub(super) fn comment_header(text: &str) -> &str {
    let mut end = 0;
    let mut seen_comment = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            seen_comment = true;
        } else if !trimmed.is_empty() || !line.ends_with('\n') {
            break;
        }
        end += line.len();
    }
    if seen_comment { &text[..end] } else { "" }
}

pub(super) fn write_documents(docs: &[Value], header: &str) -> Option<String> {
    let mut out = header.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let text = yaml::to_string(doc).ok()?;
        out.push_str(text.strip_prefix("---\n").unwrap_or(&text));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}

/// A document's identity: (apiVersion, kind, namespace, name), None without one;
/// the occurrence tells duplicates apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DocKey {
    id: Option<[String; 4]>,
    occurrence: usize,
}

pub(super) fn identity(doc: &Value) -> Option<[String; 4]> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let metadata = doc.get("metadata");
    Some([
        text(doc.get("apiVersion"))?,
        text(doc.get("kind"))?,
        text(metadata.and_then(|m| m.get("namespace"))).unwrap_or_default(),
        text(metadata.and_then(|m| m.get("name")))?,
    ])
}

pub(super) fn keyed(docs: &[Value]) -> Vec<(DocKey, &Value)> {
    let mut seen: HashMap<Option<[String; 4]>, usize> = HashMap::new();
    docs.iter()
        .map(|doc| {
            let id = identity(doc);
            let count = seen.entry(id.clone()).or_default();
            let key = DocKey {
                id,
                occurrence: *count,
            };
            *count += 1;
            (key, doc)
        })
        .collect()
}

pub(super) fn merge_documents(
    base: &[Value],
    ours: &[Value],
    theirs: &[Value],
    side: Side,
) -> (Vec<Value>, Vec<String>) {
    let (b, o, t) = (keyed(base), keyed(ours), keyed(theirs));
    let single = base.len() <= 1 && ours.len() <= 1 && theirs.len() <= 1;
    let mut merger = Merger {
        side,
        conflicts: Vec::new(),
        label: String::new(),
        secret: false,
    };
    let mut out = Vec::new();
    for key in merge_order(&keys(&o), &keys(&t)) {
        let (bd, od, td) = (lookup(&b, &key), lookup(&o, &key), lookup(&t, &key));
        merger.label = match &key.id {
            Some([_, kind, namespace, name]) if namespace.is_empty() => format!("{kind} {name}"),
            Some([_, kind, namespace, name]) => format!("{kind} {namespace}/{name}"),
            None if single => String::new(),
            None => format!("document {}", key.occurrence + 1),
        };
        merger.secret = [od, td]
            .iter()
            .flatten()
            .any(|d| d.get("kind").and_then(Value::as_str) == Some("Secret"));
        if let Some(doc) = merger.optional(&mut Vec::new(), bd, od, td) {
            out.push(doc);
        }
    }
    (out, merger.conflicts)
}

/// The value paired with `key`.
pub(super) fn lookup<'a, K: PartialEq>(list: &[(K, &'a Value)], key: &K) -> Option<&'a Value> {
    list.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// The keys of a keyed list, in order.
pub(super) fn keys<K: Clone>(list: &[(K, &Value)]) -> Vec<K> {
    list.iter().map(|(k, _)| k.clone()).collect()
}

/// `ours` in its order, with each item only in `theirs` inserted after its nearest
/// predecessor in `theirs` (at the start when it has none).
pub(super) fn merge_order<K: Clone + PartialEq>(ours: &[K], theirs: &[K]) -> Vec<K> {
    let mut out = ours.to_vec();
    for (i, item) in theirs.iter().enumerate() {
        if out.contains(item) {
            continue;
        }
        let at = theirs[..i]
            .iter()
            .rev()
            .find_map(|before| out.iter().position(|o| o == before))
            .map_or(0, |p| p + 1);
        out.insert(at, item.clone());
    }
    out
}

/// Recursive merge of values; conflicts are recorded and resolved to `side`.
pub(super) struct Merger {
    side: Side,
    conflicts: Vec<String>,
    /// The document being merged, as conflicts name it.
    label: String,
    /// Whether values must not appear in conflict descriptions.
    secret: bool,
}

impl Merger {
    fn subject(&self, path: &[String]) -> String {
        let path = path.concat();
        let path = path.strip_prefix('.').unwrap_or(&path);
        match (self.label.is_empty(), path.is_empty()) {
            (true, true) => "the document".to_string(),
            (true, false) => path.to_string(),
            (false, true) => self.label.clone(),
            (false, false) => format!("{}: {path}", self.label),
        }
    }

    /// The value as shown in conflicts (compact JSON, cut at 80 characters); None
    /// in secrets.
    fn show(&self, value: &Value) -> Option<String> {
        if self.secret {
            return None;
        }
        let shown = serde_json::to_string(value).unwrap_or_default();
        if shown.chars().count() > 80 {
            return Some(shown.chars().take(79).collect::<String>() + "…");
        }
        Some(shown)
    }

    /// ` to VALUE`, or nothing in secrets.
    fn to(&self, value: &Value) -> String {
        self.show(value)
            .map(|v| format!(" to {v}"))
            .unwrap_or_default()
    }

    fn conflict<T>(&mut self, description: String, ours: T, theirs: T) -> T {
        self.conflicts.push(description);
        match self.side {
            Side::Ours => ours,
            Side::Theirs => theirs,
        }
    }

    /// Merge a value that may be absent on any side; None = absent in the result.
    fn optional(
        &mut self,
        path: &mut Vec<String>,
        base: Option<&Value>,
        ours: Option<&Value>,
        theirs: Option<&Value>,
    ) -> Option<Value> {
        if ours == theirs || theirs == base {
            return ours.cloned();
        }
        if ours == base {
            return theirs.cloned();
        }
        match (ours, theirs) {
            (Some(o), Some(t)) => Some(self.value(path, base, o, t)),
            (Some(o), None) => {
                let what = if path.is_empty() {
                    format!("{}: removed upstream but changed here", self.subject(path))
                } else {
                    format!(
                        "{} changed{} here and removed upstream",
                        self.subject(path),
                        self.to(o)
                    )
                };
                self.conflict(what, Some(o.clone()), None)
            }
            (None, Some(t)) => {
                let what = if path.is_empty() {
                    format!("{}: removed here but changed upstream", self.subject(path))
                } else {
                    format!(
                        "{} removed here and changed{} upstream",
                        self.subject(path),
                        self.to(t)
                    )
                };
                self.conflict(what, None, Some(t.clone()))
            }
            (None, None) => None,
        }
    }

    /// Merge a value present on both sides with different content, neither equal
    /// to the base.
    fn value(
        &mut self,
        path: &mut Vec<String>,
        base: Option<&Value>,
        ours: &Value,
        theirs: &Value,
    ) -> Value {
        let sops = path.is_empty()
            && [ours, theirs]
                .iter()
                .any(|d| d.get("sops").is_some_and(Value::is_object));
        match (base, ours, theirs) {
            _ if sops => {
                let what = format!(
                    "{}: SOPS-encrypted document changed both here and upstream (encrypted values cannot be merged)",
                    self.subject(path)
                );
                self.conflict(what, ours.clone(), theirs.clone())
            }
            (_, Value::Object(o), Value::Object(t)) => {
                let b = base.and_then(Value::as_object);
                let mut out = Map::new();
                let (ok, tk): (Vec<&String>, Vec<&String>) =
                    (o.keys().collect(), t.keys().collect());
                for key in merge_order(&ok, &tk) {
                    path.push(key_segment(key));
                    let merged =
                        self.optional(path, b.and_then(|b| b.get(key)), o.get(key), t.get(key));
                    path.pop();
                    if let Some(value) = merged {
                        out.insert(key.clone(), value);
                    }
                }
                Value::Object(out)
            }
            (_, Value::Array(o), Value::Array(t))
                if named(o).is_some()
                    && named(t).is_some()
                    && base
                        .and_then(Value::as_array)
                        .is_none_or(|b| named(b).is_some()) =>
            {
                let b = base
                    .and_then(Value::as_array)
                    .map(|b| named(b).unwrap_or_default())
                    .unwrap_or_default();
                let (o, t) = (named(o).unwrap_or_default(), named(t).unwrap_or_default());
                let mut out = Vec::new();
                for name in merge_order(&keys(&o), &keys(&t)) {
                    path.push(format!("[{name}]"));
                    let merged = self.optional(
                        path,
                        lookup(&b, &name),
                        lookup(&o, &name),
                        lookup(&t, &name),
                    );
                    path.pop();
                    out.extend(merged);
                }
                Value::Array(out)
            }
            (_, Value::Array(o), Value::Array(t)) => {
                let b = base
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                match merge_items(b, o, t) {
                    Some(items) => Value::Array(items),
                    None => self.atomic(path, base, ours, theirs),
                }
            }
            (Some(Value::String(b)), Value::String(o), Value::String(t))
                if [b, o, t].iter().any(|s| s.contains('\n')) =>
            {
                match diffy::merge(b, o, t) {
                    Ok(merged) => Value::String(merged),
                    Err(_) => self.atomic(path, base, ours, theirs),
                }
            }
            _ => self.atomic(path, base, ours, theirs),
        }
    }

    fn atomic(
        &mut self,
        path: &[String],
        base: Option<&Value>,
        ours: &Value,
        theirs: &Value,
    ) -> Value {
        let subject = self.subject(path);
        let what = match (base, self.show(ours), self.show(theirs)) {
            (Some(_), _, _) => format!(
                "{subject} changed{} here and{} upstream",
                self.to(ours),
                self.to(theirs)
            ),
            (None, Some(o), Some(t)) => format!("{subject} added as {o} here and as {t} upstream"),
            (None, _, _) => format!("{subject} added here and upstream with different values"),
        };
        self.conflict(what, ours.clone(), theirs.clone())
    }
}

/// `.key`, or `["key"]` when the key is not a plain word.
pub(super) fn key_segment(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        format!(".{key}")
    } else {
        format!("[{}]", serde_json::to_string(key).unwrap_or_default())
    }
}

/// The items by name when every item is a mapping with a unique string `name`.
pub(super) fn named(list: &[Value]) -> Option<Vec<(&str, &Value)>> {
    let mut out: Vec<(&str, &Value)> = Vec::new();
    for item in list {
        let name = item.as_object()?.get("name")?.as_str()?;
        if out.iter().any(|(n, _)| *n == name) {
            return None;
        }
        out.push((name, item));
    }
    Some(out)
}

/// diff3 of lists, each item one line; None on conflict.
pub(super) fn merge_items(base: &[Value], ours: &[Value], theirs: &[Value]) -> Option<Vec<Value>> {
    let lines = |list: &[Value]| -> Option<String> {
        let mut out = String::new();
        for item in list {
            out.push_str(&serde_json::to_string(item).ok()?);
            out.push('\n');
        }
        Some(out)
    };
    let merged = diffy::merge(&lines(base)?, &lines(ours)?, &lines(theirs)?).ok()?;
    merged
        .lines()
        .map(|line| serde_json::from_str(line).ok())
        .collect()
}
