//! Search ranking over catalog indexes: a profile matches when every word of the
//! query is found in its name, keywords, description or catalog name; name matches
//! rank above keyword matches, which rank above description matches.
use super::index::ProfileEntry;

/// Points for where a word was found (one word counts once, at its best place).
const NAME_EXACT: u32 = 1000;
const NAME_PREFIX: u32 = 700;
const NAME_CONTAINS: u32 = 500;
const KEYWORD_EXACT: u32 = 300;
const KEYWORD_CONTAINS: u32 = 200;
const DESCRIPTION: u32 = 100;
const CATALOG: u32 = 50;

/// Lower-cased words of a query.
pub fn terms(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .map(|w| w.to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The score of a profile for the query words, or None when a word matches nothing.
/// An empty query matches everything with score 0.
pub fn score(catalog: &str, p: &ProfileEntry, terms: &[String]) -> Option<u32> {
    score_fields(catalog, &p.name, &p.keywords, &p.description, terms)
}

/// [`score`] of a profile given by its name, keywords and description.
pub fn score_fields(
    catalog: &str,
    name: &str,
    keywords: &[String],
    description: &str,
    terms: &[String],
) -> Option<u32> {
    let name = name.to_lowercase();
    let description = description.to_lowercase();
    let catalog = catalog.to_lowercase();
    let mut total = 0;
    for t in terms {
        let (cat_part, name_part) = match t.split_once('/') {
            Some((c, n)) => (Some(c), n),
            None => (None, t.as_str()),
        };
        if let Some(c) = cat_part
            && !c.is_empty()
            && !catalog.starts_with(c)
        {
            return None;
        }
        if name_part.is_empty() {
            total += CATALOG;
            continue;
        }
        let best = if name == name_part {
            NAME_EXACT
        } else if name.starts_with(name_part) {
            NAME_PREFIX
        } else if name.contains(name_part) {
            NAME_CONTAINS
        } else if keywords.iter().any(|k| k.to_lowercase() == name_part) {
            KEYWORD_EXACT
        } else if keywords
            .iter()
            .any(|k| k.to_lowercase().contains(name_part))
        {
            KEYWORD_CONTAINS
        } else if description.contains(name_part) {
            DESCRIPTION
        } else if cat_part.is_none() && catalog.contains(name_part) {
            CATALOG
        } else {
            return None;
        };
        total += best;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, keywords: &[&str], description: &str) -> ProfileEntry {
        ProfileEntry {
            name: name.into(),
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            description: description.into(),
            ..Default::default()
        }
    }

    #[test]
    fn name_beats_keyword_beats_description() {
        let t = terms("nginx");
        let by_name = score("c", &p("nginx", &[], ""), &t).unwrap();
        let by_prefix = score("c", &p("nginx-extra", &[], ""), &t).unwrap();
        let inside = score("c", &p("bitnami-nginx", &[], ""), &t).unwrap();
        let by_keyword = score("c", &p("ingress", &["nginx"], ""), &t).unwrap();
        let by_description = score("c", &p("web", &[], "Serves NGINX pages"), &t).unwrap();
        assert!(by_name > by_prefix && by_prefix > inside && inside > by_keyword);
        assert!(by_keyword > by_description);
        assert!(score("c", &p("redis", &["cache"], "A cache"), &t).is_none());
    }

    #[test]
    fn every_word_must_match_and_catalog_prefix_filters() {
        let e = p("nginx", &["ingress"], "Ingress controller");
        assert!(score("weaveworks", &e, &terms("nginx ingress")).is_some());
        assert!(score("weaveworks", &e, &terms("nginx redis")).is_none());
        assert!(score("weaveworks", &e, &terms("weaveworks/nginx")).is_some());
        assert!(score("other", &e, &terms("weaveworks/nginx")).is_none());
        assert!(score("weaveworks", &e, &terms("weaveworks/")).is_some());
        assert_eq!(score("c", &e, &[]), Some(0));
    }
}
