//! "did you mean ...?" hints for misspelt field names and keywords.

/// The candidate closest to `input` (case-insensitive edit distance of at most 2, or at most a
/// third of the input's length for short words), if any.
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input = input.to_lowercase();
    let limit = 2.min(input.chars().count().div_ceil(3)).max(1);
    candidates
        .iter()
        .map(|candidate| (edit_distance(&input, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `" (did you mean 'x'?)"`, or an empty string when nothing is close.
pub(crate) fn did_you_mean(input: &str, candidates: &[&str]) -> String {
    match closest(input, candidates) {
        Some(candidate) => format!(" (did you mean '{candidate}'?)"),
        None => String::new(),
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["status", "request_id", "name"];
        assert_eq!(closest("state", &keys), Some("status"));
        assert_eq!(closest("STATUS", &keys), Some("status"));
        assert_eq!(closest("requestid", &keys), Some("request_id"));
        assert_eq!(closest("nme", &keys), Some("name"));
        assert_eq!(closest("xyz", &keys), None);
        assert_eq!(closest("", &keys), None);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("state", "status"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("tag", "tag"), 0);
    }
}
