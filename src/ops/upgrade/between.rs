//! Installations upgraded together must not start producing the same objects: the
//! check between the plans of one command, in one pass over their claims (comparing
//! every pair of plans grew with the square of their number: 125,000 pairs for 500).
use super::*;
use crate::ownership::Owned;

/// Refuse plans of which two would produce the same object or Helm release, naming
/// the first such pair in plan order.
pub(super) fn refuse_conflicts_between(plans: &[Planned]) -> Result<()> {
    let claims: Vec<&[Owned]> = plans.iter().map(|p| p.claims.as_slice()).collect();
    let Some((i, j)) = first_pair_sharing(&claims) else {
        return Ok(());
    };
    let (p, q) = (&plans[i], &plans[j]);
    let found = crate::ownership::conflicts(&q.claims, &p.claims);
    bail!(user(
        format!(
            "upgrade of {} and {}: both would produce the same object(s) or Helm release(s):\n{}",
            p.name,
            q.name,
            crate::ownership::describe(&found)
        ),
        "upgrade them one at a time to see which one can keep them",
    ))
}

/// The first pair `(i, j)`, `i < j`, in the order of comparing every set with every
/// later one, of sets that make a claim in common.
fn first_pair_sharing(sets: &[&[Owned]]) -> Option<(usize, usize)> {
    // Which sets make each claim, in order; the first two makers of a claim are its
    // first pair, and the smallest of those is the first pair overall.
    let mut makers: BTreeMap<&crate::ownership::Claim, Vec<usize>> = BTreeMap::new();
    for (i, set) in sets.iter().enumerate() {
        for c in set.iter() {
            let list = makers.entry(&c.claim).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    makers
        .values()
        .filter(|l| l.len() > 1)
        .map(|l| (l[0], l[1]))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ownership::{Claim, Owner};

    fn owned(name: &str) -> Owned {
        Owned {
            claim: Claim::Object {
                kind: "ConfigMap".into(),
                namespace: "ns".into(),
                name: name.into(),
            },
            owner: Owner {
                installation: None,
                file: format!("{name}.yaml"),
            },
        }
    }

    /// The pair that comparing every pair in order finds first.
    fn by_pairs(sets: &[&[Owned]]) -> Option<(usize, usize)> {
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                if !crate::ownership::conflicts(sets[j], sets[i]).is_empty() {
                    return Some((i, j));
                }
            }
        }
        None
    }

    #[test]
    fn finds_the_pair_that_comparing_every_pair_finds_first() {
        let sets: Vec<Vec<Owned>> = vec![
            vec![owned("a"), owned("b")],
            vec![owned("c"), owned("c")],
            vec![owned("d"), owned("b")],
            vec![owned("c")],
            vec![owned("a")],
        ];
        let all: Vec<&[Owned]> = sets.iter().map(Vec::as_slice).collect();
        // Every prefix and every window of the sets, and each order of a few.
        for start in 0..all.len() {
            for end in start..=all.len() {
                let part = &all[start..end];
                assert_eq!(first_pair_sharing(part), by_pairs(part), "{start}..{end}");
                let mut rev = part.to_vec();
                rev.reverse();
                assert_eq!(
                    first_pair_sharing(&rev),
                    by_pairs(&rev),
                    "{start}..{end} reversed"
                );
            }
        }
        assert_eq!(first_pair_sharing(&all), Some((0, 2)));
        // A claim made twice by one set is not a pair.
        assert_eq!(first_pair_sharing(&all[1..2]), None);
    }
}
