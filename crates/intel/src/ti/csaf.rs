/*!
CSAF 2.0 advisories (CISA's ICS advisories) → [`VulnRecord`]s.

What is read, per file:
- `document.tracking.id` (`ICSA-24-228-11`, required), `document.title`,
  `document.tracking.current_release_date`, `document.references[].url`;
- `product_tree.branches`: a tree of `vendor` → (`product_family`)* → `product_name` →
  `product_version_range` | `product_version` leaves, whose `product` carries the `product_id`
  the vulnerabilities refer to and `product_identification_helper.model_numbers`. The product
  is the path of names below the vendor joined by " / "; the leaf's name (a range or a version)
  is kept as the raw version text. `product_tree.relationships` (`default_component_of` …)
  make a combined product id whose vendor, product and versions are the related product's;
- `vulnerabilities[]`: `cve` (required per entry), `title`, `cwe.id`,
  `scores[].cvss_v3.{baseScore, vectorString}`, `product_status.known_affected` (the affected
  products), `product_status.fixed` (their versions are fixed versions of the same vendor and
  product), `remediations[]` (`vendor_fix`, `mitigation`, `workaround`, … with `details` and
  `url`; a `vendor_fix` that says "Update to V2.4 or later" gives `V2.4` as a fixed version of
  its products), `references[].url`.

Every file is hostile. A file is at most [`MAX_FILE_BYTES`]; JSON nesting is bounded by
serde_json's own recursion limit (128 levels: a deeper document is a parse error, never a stack
overflow), and the product tree walk stops at [`MAX_BRANCH_DEPTH`]. What makes the whole file
unusable (unreadable, too large, not JSON, no tracking id, no product tree, `vulnerabilities`
not an array) is a [`CsafError`] naming the file and the JSON field; an element that is wrong
(a score that is not a number, a vulnerability without `cve`, an unknown product id) is a
[`SourceProblem`] with its field path, and only that element is skipped.
*/

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::source::{parse_json, read_bounded};

use crate::vuln::{AffectedProduct, VulnRecord};

/// Largest advisory read (the largest real one is about 1 MB).
pub const MAX_FILE_BYTES: u64 = 16 << 20;
/// Deepest product tree branch followed (real ones are at most 4: vendor, family, name, version).
pub const MAX_BRANCH_DEPTH: usize = 12;
/// Most files [`import_dir`] reads.
pub const MAX_FILES: usize = 100_000;
/// Deepest directory [`import_dir`] descends into below the one given.
pub const MAX_DIR_DEPTH: usize = 6;
/// Most problems kept per import; more are counted in [`ImportReport::problems_not_kept`].
pub const MAX_PROBLEMS: usize = 10_000;
/// Longest text kept from a source field (titles, remediation details); longer ones are cut.
pub const MAX_TEXT_CHARS: usize = 2_000;

pub use super::source::SourceProblem;

/// Why a whole advisory file was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CsafError(pub SourceProblem);

/// One advisory, imported.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedAdvisory {
    /// `document.tracking.id` (`ICSA-24-228-11`).
    pub id: String,
    /// `document.title`.
    pub title: String,
    /// `document.tracking.current_release_date`, as written.
    pub release_date: String,
    /// Products in the product tree.
    pub products: usize,
    /// One record per CVE of the advisory.
    pub records: Vec<VulnRecord>,
    /// Elements skipped inside the file.
    pub problems: Vec<SourceProblem>,
}

/// A directory of advisories, imported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// One record per CVE, merged over every advisory naming it, sorted by CVE id.
    pub records: Vec<VulnRecord>,
    /// Files skipped and elements skipped inside files (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<SourceProblem>,
    /// Problems beyond [`MAX_PROBLEMS`], counted only.
    pub problems_not_kept: usize,
    /// `.json` files found.
    pub files_read: usize,
    /// Files imported (possibly with skipped elements).
    pub advisories: usize,
    /// Files skipped as a whole.
    pub files_skipped: usize,
    /// Products over all imported advisories.
    pub products: usize,
    /// The newest `current_release_date` seen (RFC 3339 text compares in time order).
    pub newest_release: String,
}

/// Reads and imports one advisory.
pub fn import_file(path: &Path) -> Result<ImportedAdvisory, CsafError> {
    let (name, bytes) = read_bounded(path, MAX_FILE_BYTES).map_err(CsafError)?;
    import_bytes(&name, &bytes)
}

/// Imports one advisory from its bytes; `file` names it in problems.
pub fn import_bytes(file: &str, bytes: &[u8]) -> Result<ImportedAdvisory, CsafError> {
    let fail = |field: &str, message: String| CsafError(problem(file, field, message));
    let doc = parse_json(file, bytes, MAX_FILE_BYTES, ", skipped").map_err(CsafError)?;
    let root = doc
        .as_object()
        .ok_or_else(|| fail("", "the document is not a JSON object".into()))?;
    let document = object_at(root, "document").map_err(|m| fail("document", m))?;
    let tracking = object_at(document, "tracking").map_err(|m| fail("document.tracking", m))?;
    let id = required_text(tracking, "id").map_err(|m| fail("document.tracking.id", m))?;
    let mut importer = Importer {
        file,
        problems: Vec::new(),
        products: HashMap::new(),
    };
    let title = importer.optional_text(document, "title", "document.title");
    let release_date = importer.optional_text(
        tracking,
        "current_release_date",
        "document.tracking.current_release_date",
    );
    let doc_references = importer.urls(document, "references", "document.references");

    let tree = object_at(root, "product_tree").map_err(|m| fail("product_tree", m))?;
    match tree.get("branches") {
        Some(Value::Array(branches)) => {
            importer.walk_branches(branches, "product_tree.branches", &Branch::default(), 0)
        }
        Some(_) => {
            return Err(fail(
                "product_tree.branches",
                "not an array, file skipped".into(),
            ))
        }
        None => {
            return Err(fail(
                "product_tree.branches",
                "missing: no products, file skipped".into(),
            ))
        }
    }
    if let Some(relationships) = tree.get("relationships") {
        importer.relationships(relationships);
    }
    let vulnerabilities = match root.get("vulnerabilities") {
        Some(Value::Array(list)) => list.as_slice(),
        None => &[],
        Some(_) => return Err(fail("vulnerabilities", "not an array, file skipped".into())),
    };
    let mut records: Vec<VulnRecord> = Vec::new();
    for (index, vulnerability) in vulnerabilities.iter().enumerate() {
        let path = format!("vulnerabilities[{index}]");
        if let Some(mut record) = importer.vulnerability(vulnerability, &path, &title) {
            record.advisories.push(id.clone());
            for url in &doc_references {
                push_unique(&mut record.references, url);
            }
            match records.iter_mut().find(|r| r.cve == record.cve) {
                Some(existing) => merge_record(existing, record),
                None => records.push(record),
            }
        }
    }
    Ok(ImportedAdvisory {
        id,
        title,
        release_date,
        products: importer.products.len(),
        records,
        problems: importer.problems,
    })
}

/// Imports every `*.json` file below `dir` (sorted by path, so the result does not depend on
/// directory order); a bad file is reported and skipped, never fatal.
pub fn import_dir(dir: &Path) -> ImportReport {
    let mut report = ImportReport::default();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    collect_json_files(dir, 0, &mut files, &mut problems);
    files.sort();
    let mut by_cve: BTreeMap<String, VulnRecord> = BTreeMap::new();
    for path in files {
        report.files_read += 1;
        match import_file(&path) {
            Ok(advisory) => {
                report.advisories += 1;
                report.products += advisory.products;
                if advisory.release_date > report.newest_release {
                    report.newest_release = advisory.release_date.clone();
                }
                problems.extend(advisory.problems);
                for record in advisory.records {
                    match by_cve.get_mut(&record.cve) {
                        Some(existing) => merge_record(existing, record),
                        None => {
                            by_cve.insert(record.cve.clone(), record);
                        }
                    }
                }
            }
            Err(CsafError(problem)) => {
                report.files_skipped += 1;
                problems.push(problem);
            }
        }
    }
    report.records = by_cve.into_values().collect();
    if problems.len() > MAX_PROBLEMS {
        report.problems_not_kept = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
    }
    report.problems = problems;
    report
}

/// Adds `other`'s advisories, references, affected products and remediation to `into` (the
/// same CVE from another advisory); the first score, vector and title stay.
pub fn merge_record(into: &mut VulnRecord, other: VulnRecord) {
    if into.cvss_score.is_none() {
        into.cvss_score = other.cvss_score;
        into.cvss_vector = other.cvss_vector;
    }
    for cwe in &other.cwe {
        push_unique(&mut into.cwe, cwe);
    }
    for advisory in &other.advisories {
        push_unique(&mut into.advisories, advisory);
    }
    for reference in &other.references {
        push_unique(&mut into.references, reference);
    }
    for remediation in &other.remediation {
        push_unique(&mut into.remediation, remediation);
    }
    for product in other.affected {
        if !into.affected.contains(&product) {
            into.affected.push(product);
        }
    }
    if into.kev.is_none() {
        into.kev = other.kev;
    }
}

fn collect_json_files(
    dir: &Path,
    depth: usize,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<SourceProblem>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(problem(
                &dir.display().to_string(),
                "",
                format!("cannot list: {e}"),
            ));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if files.len() >= MAX_FILES {
            return;
        }
        let path = entry.path();
        // file_type does not follow symbolic links, so a link loop cannot make the walk endless.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth < MAX_DIR_DEPTH {
                collect_json_files(&path, depth + 1, files, problems);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
}

/// A product leaf of the tree.
#[derive(Debug, Clone)]
struct Leaf {
    vendor: String,
    product: String,
    model_numbers: Vec<String>,
    versions: String,
}

/// Names collected on the way down the tree.
#[derive(Debug, Clone, Default)]
struct Branch {
    vendor: String,
    names: Vec<String>,
}

struct Importer<'a> {
    file: &'a str,
    problems: Vec<SourceProblem>,
    products: HashMap<String, Leaf>,
}

impl Importer<'_> {
    fn report(&mut self, field: &str, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems
                .push(problem(self.file, field, message.into()));
        }
    }

    fn optional_text(&mut self, object: &Map<String, Value>, key: &str, path: &str) -> String {
        match object.get(key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => clean(text),
            Some(_) => {
                self.report(path, "not a string, ignored");
                String::new()
            }
        }
    }

    fn urls(&mut self, object: &Map<String, Value>, key: &str, path: &str) -> Vec<String> {
        let mut urls = Vec::new();
        match object.get(key) {
            None => {}
            Some(Value::Array(list)) => {
                for (index, item) in list.iter().enumerate() {
                    match item.get("url") {
                        Some(Value::String(url)) => push_unique(&mut urls, &clean(url)),
                        None => {}
                        Some(_) => self.report(
                            &format!("{path}[{index}].url"),
                            "not a string, reference skipped",
                        ),
                    }
                }
            }
            Some(_) => self.report(path, "not an array, references skipped"),
        }
        urls
    }

    fn walk_branches(&mut self, branches: &[Value], path: &str, above: &Branch, depth: usize) {
        if depth >= MAX_BRANCH_DEPTH {
            self.report(
                path,
                format!("branches nested deeper than {MAX_BRANCH_DEPTH}, skipped"),
            );
            return;
        }
        for (index, branch) in branches.iter().enumerate() {
            let path = format!("{path}[{index}]");
            let Some(branch) = branch.as_object() else {
                self.report(&path, "not an object, branch skipped");
                continue;
            };
            let category = match branch.get("category") {
                Some(Value::String(category)) => category.as_str(),
                _ => {
                    self.report(
                        &format!("{path}.category"),
                        "missing or not a string, branch skipped",
                    );
                    continue;
                }
            };
            let name = match branch.get("name") {
                Some(Value::String(name)) => clean(name),
                _ => {
                    self.report(
                        &format!("{path}.name"),
                        "missing or not a string, branch skipped",
                    );
                    continue;
                }
            };
            let mut here = above.clone();
            let is_version = matches!(category, "product_version_range" | "product_version");
            match category {
                "vendor" => here.vendor = name.clone(),
                _ if is_version => {}
                _ => here.names.push(name.clone()),
            }
            if let Some(product) = branch.get("product") {
                let versions = if is_version {
                    name.clone()
                } else {
                    String::new()
                };
                self.leaf(product, &format!("{path}.product"), &here, versions);
            }
            match branch.get("branches") {
                None => {}
                Some(Value::Array(children)) => {
                    self.walk_branches(children, &format!("{path}.branches"), &here, depth + 1)
                }
                Some(_) => self.report(
                    &format!("{path}.branches"),
                    "not an array, branches skipped",
                ),
            }
        }
    }

    fn leaf(&mut self, product: &Value, path: &str, branch: &Branch, versions: String) {
        let Some(product) = product.as_object() else {
            self.report(path, "not an object, product skipped");
            return;
        };
        let id = match product.get("product_id") {
            Some(Value::String(id)) => id.clone(),
            _ => {
                self.report(
                    &format!("{path}.product_id"),
                    "missing or not a string, product skipped",
                );
                return;
            }
        };
        let full_name = self.optional_text(product, "name", &format!("{path}.name"));
        let product_name = if branch.names.is_empty() {
            full_name
        } else {
            branch.names.join(" / ")
        };
        let mut model_numbers = Vec::new();
        if let Some(helper) = product.get("product_identification_helper") {
            let helper_path = format!("{path}.product_identification_helper.model_numbers");
            match helper.get("model_numbers") {
                None => {}
                Some(Value::Array(numbers)) => {
                    for (index, number) in numbers.iter().enumerate() {
                        match number.as_str() {
                            Some(number) => push_unique(&mut model_numbers, &clean(number)),
                            None => self.report(
                                &format!("{helper_path}[{index}]"),
                                "not a string, ignored",
                            ),
                        }
                    }
                }
                Some(_) => self.report(&helper_path, "not an array, ignored"),
            }
        }
        self.products.insert(
            id,
            Leaf {
                vendor: branch.vendor.clone(),
                product: product_name,
                model_numbers,
                versions,
            },
        );
    }

    /// A relationship's combined product is, for matching, the related product (the one a
    /// device would announce) — `product_reference` installed on `relates_to_product_reference`.
    fn relationships(&mut self, relationships: &Value) {
        let path = "product_tree.relationships";
        let Some(list) = relationships.as_array() else {
            self.report(path, "not an array, relationships skipped");
            return;
        };
        for (index, relationship) in list.iter().enumerate() {
            let path = format!("{path}[{index}]");
            let product = relationship
                .get("product_reference")
                .and_then(Value::as_str);
            let full_id = relationship
                .get("full_product_name")
                .and_then(|p| p.get("product_id"))
                .and_then(Value::as_str);
            let (Some(product), Some(full_id)) = (product, full_id) else {
                self.report(
                    &path,
                    "product_reference or full_product_name.product_id missing, skipped",
                );
                continue;
            };
            match self.products.get(product).cloned() {
                Some(leaf) => {
                    self.products.insert(full_id.to_owned(), leaf);
                }
                None => self.report(
                    &format!("{path}.product_reference"),
                    format!("product id {product} not in the product tree, skipped"),
                ),
            }
        }
    }

    fn vulnerability(
        &mut self,
        vulnerability: &Value,
        path: &str,
        document_title: &str,
    ) -> Option<VulnRecord> {
        let Some(vulnerability) = vulnerability.as_object() else {
            self.report(path, "not an object, vulnerability skipped");
            return None;
        };
        let cve = match vulnerability.get("cve") {
            Some(Value::String(cve)) if is_cve_id(cve.trim()) => cve.trim().to_owned(),
            Some(Value::String(cve)) => {
                self.report(
                    &format!("{path}.cve"),
                    format!("{:?} is not a CVE id, vulnerability skipped", cut(cve, 40)),
                );
                return None;
            }
            _ => {
                self.report(
                    &format!("{path}.cve"),
                    "missing or not a string, vulnerability skipped",
                );
                return None;
            }
        };
        let mut record = VulnRecord {
            cve: cve.clone(),
            title: String::new(),
            cvss_score: None,
            cvss_vector: None,
            cwe: Vec::new(),
            advisories: Vec::new(),
            references: Vec::new(),
            affected: Vec::new(),
            remediation: Vec::new(),
            kev: None,
        };
        let own_title = self.optional_text(vulnerability, "title", &format!("{path}.title"));
        let mut cwe_name = String::new();
        match vulnerability.get("cwe") {
            None => {}
            Some(Value::Object(cwe)) => {
                match cwe.get("id").and_then(Value::as_str) {
                    Some(id) => record.cwe.push(clean(id)),
                    None => self.report(&format!("{path}.cwe.id"), "missing or not a string"),
                }
                cwe_name = self.optional_text(cwe, "name", &format!("{path}.cwe.name"));
            }
            Some(_) => self.report(&format!("{path}.cwe"), "not an object, ignored"),
        }
        // CISA's titles are often the CVE id itself; the weakness then says more.
        record.title = if !own_title.is_empty() && own_title != cve {
            own_title
        } else if !cwe_name.is_empty() {
            cwe_name
        } else {
            document_title.to_owned()
        };
        self.scores(vulnerability, path, &mut record);
        record.references = self.urls(vulnerability, "references", &format!("{path}.references"));

        let status_path = format!("{path}.product_status");
        let status = match vulnerability.get("product_status") {
            Some(Value::Object(status)) => Some(status),
            None => None,
            Some(_) => {
                self.report(&status_path, "not an object, ignored");
                None
            }
        };
        let affected_ids = status
            .map(|s| {
                self.product_ids(
                    s.get("known_affected"),
                    &format!("{status_path}.known_affected"),
                )
            })
            .unwrap_or_default();
        let fixed_ids = status
            .map(|s| self.product_ids(s.get("fixed"), &format!("{status_path}.fixed")))
            .unwrap_or_default();
        let mut affected_by_id: Vec<(String, AffectedProduct)> = Vec::new();
        for (index, id) in affected_ids.iter().enumerate() {
            match self.products.get(id) {
                Some(leaf) => {
                    if affected_by_id.iter().all(|(known, _)| known != id) {
                        affected_by_id.push((
                            id.clone(),
                            AffectedProduct {
                                vendor: leaf.vendor.clone(),
                                product: leaf.product.clone(),
                                model_numbers: leaf.model_numbers.clone(),
                                versions: leaf.versions.clone(),
                                fixed_in: Vec::new(),
                            },
                        ))
                    }
                }
                None => self.report(
                    &format!("{status_path}.known_affected[{index}]"),
                    format!("product id {id} not in the product tree, skipped"),
                ),
            }
        }
        // A fixed product's version fixes the same vendor's product of the same name.
        for id in &fixed_ids {
            if let Some(leaf) = self.products.get(id) {
                for (_, product) in affected_by_id.iter_mut() {
                    if product.vendor == leaf.vendor
                        && product.product == leaf.product
                        && !leaf.versions.is_empty()
                    {
                        push_unique(&mut product.fixed_in, &leaf.versions);
                    }
                }
            }
        }
        self.remediations(vulnerability, path, &mut record, &mut affected_by_id);
        record.affected = affected_by_id.into_iter().map(|(_, p)| p).collect();
        Some(record)
    }

    fn scores(&mut self, vulnerability: &Map<String, Value>, path: &str, record: &mut VulnRecord) {
        let scores = match vulnerability.get("scores") {
            None => return,
            Some(Value::Array(scores)) => scores,
            Some(_) => {
                self.report(&format!("{path}.scores"), "not an array, ignored");
                return;
            }
        };
        for (index, score) in scores.iter().enumerate() {
            let Some(cvss) = score.get("cvss_v3") else {
                continue;
            };
            let score_path = format!("{path}.scores[{index}].cvss_v3");
            let base = match cvss.get("baseScore") {
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(v) if (0.0..=10.0).contains(&v) => v as f32,
                    _ => {
                        self.report(
                            &format!("{score_path}.baseScore"),
                            "outside 0–10, score skipped",
                        );
                        continue;
                    }
                },
                _ => {
                    self.report(
                        &format!("{score_path}.baseScore"),
                        "missing or not a number, score skipped",
                    );
                    continue;
                }
            };
            let vector = match cvss.get("vectorString") {
                Some(Value::String(v)) => Some(cut(v.trim(), 200).to_owned()),
                None => None,
                Some(_) => {
                    self.report(
                        &format!("{score_path}.vectorString"),
                        "not a string, ignored",
                    );
                    None
                }
            };
            // Scores may differ per product group; the record carries the highest.
            if record.cvss_score.is_none_or(|known| base > known) {
                record.cvss_score = Some(base);
                record.cvss_vector = vector;
            }
        }
    }

    fn product_ids(&mut self, list: Option<&Value>, path: &str) -> Vec<String> {
        match list {
            None => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .enumerate()
                .filter_map(|(index, id)| match id {
                    Value::String(id) => Some(id.clone()),
                    _ => {
                        self.report(&format!("{path}[{index}]"), "not a string, skipped");
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.report(path, "not an array, ignored");
                Vec::new()
            }
        }
    }

    fn remediations(
        &mut self,
        vulnerability: &Map<String, Value>,
        path: &str,
        record: &mut VulnRecord,
        affected: &mut [(String, AffectedProduct)],
    ) {
        let remediations = match vulnerability.get("remediations") {
            None => return,
            Some(Value::Array(list)) => list,
            Some(_) => {
                self.report(&format!("{path}.remediations"), "not an array, ignored");
                return;
            }
        };
        for (index, remediation) in remediations.iter().enumerate() {
            let item_path = format!("{path}.remediations[{index}]");
            let Some(remediation) = remediation.as_object() else {
                self.report(&item_path, "not an object, skipped");
                continue;
            };
            let category =
                self.optional_text(remediation, "category", &format!("{item_path}.category"));
            let details =
                self.optional_text(remediation, "details", &format!("{item_path}.details"));
            let url = self.optional_text(remediation, "url", &format!("{item_path}.url"));
            if details.is_empty() && url.is_empty() {
                continue;
            }
            let mut text = if category.is_empty() {
                details.clone()
            } else {
                format!("{category}: {details}")
            };
            if !url.is_empty() {
                text.push_str(&format!(" ({url})"));
            }
            push_unique(&mut record.remediation, &text);
            if category == "vendor_fix" {
                let versions = fixed_versions_in(&details);
                if !versions.is_empty() {
                    let ids = self.product_ids(
                        remediation.get("product_ids"),
                        &format!("{item_path}.product_ids"),
                    );
                    for (id, product) in affected.iter_mut() {
                        if ids.contains(id) {
                            for version in &versions {
                                push_unique(&mut product.fixed_in, version);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The versions a vendor fix names as fixed: "Update to V2.0 SP1 or later version" → `V2.0 SP1`,
/// "Corrected in v33.016, 34.013 and later" → `v33.016`, `34.013` (one per release line),
/// "Version 9.3.6 of Easergy Studio includes a fix" → `9.3.6`. Other wording gives none: the
/// text stays in the record's remediation either way.
pub fn fixed_versions_in(details: &str) -> Vec<String> {
    static PATTERNS: OnceLock<Vec<regex_lite::Regex>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            // The list that follows is read by `version_list`.
            r"(?i)\b(?:update|upgrade)(?:\s+[A-Za-z][\w\-]*){0,4}\s+to\s+(?:version\s+|firmware\s+)?",
            r"(?i)\b(?:corrected|fixed|resolved|remediated|addressed)\s+in\s+(?:version\s+|versions\s+|firmware\s+|revision\s+)?",
            r"(?i)\bversions?\s+(?:V?\d[\w.\-]*\s+)(?:of\s+[^,.;]{1,60}?\s+)?(?:includes|contains|fixes|addresses|resolves)\b",
        ]
        .iter()
        .filter_map(|p| regex_lite::Regex::new(p).ok())
        .collect()
    });
    let mut versions = Vec::new();
    for (index, pattern) in patterns.iter().enumerate() {
        for found in pattern.find_iter(details) {
            let listed = if index == 2 {
                // "Version X of … includes": the version is inside the match.
                version_list(
                    found
                        .as_str()
                        .split_once(char::is_whitespace)
                        .map_or("", |(_, rest)| rest),
                )
                .into_iter()
                .take(1)
                .collect()
            } else {
                version_list(&details[found.end()..])
            };
            for version in listed {
                push_unique(&mut versions, &version);
            }
        }
    }
    versions
}

/// The versions at the start of `text`, separated by commas, "and" or "or"
/// (`v33.016, 34.013 and later` → `v33.016`, `34.013`); a version may carry `SP`, `Update` or
/// `HF` parts (`V1.0 SP2 Update 3`).
fn version_list(text: &str) -> Vec<String> {
    let mut versions = Vec::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let separator_after = word.ends_with(',') || word.ends_with(';');
        let token = word.trim_end_matches([',', ';', '.', ')']);
        if !is_version_token(token) {
            break;
        }
        let mut version = token.to_owned();
        let mut ended = separator_after || word.ends_with('.');
        while !ended {
            let Some(next) = words.peek() else { break };
            let part = next.trim_end_matches([',', ';', '.', ')']);
            let qualifier = ["SP", "Update", "HF"].iter().any(|q| {
                part.len() > q.len()
                    && part[..q.len()].eq_ignore_ascii_case(q)
                    && part[q.len()..].bytes().all(|b| b.is_ascii_digit())
            });
            let spaced = ["SP", "Update", "HF"]
                .iter()
                .any(|q| part.eq_ignore_ascii_case(q));
            if qualifier {
                version.push(' ');
                version.push_str(part);
                ended = next.ends_with(',') || next.ends_with(';') || next.ends_with('.');
                words.next();
            } else if spaced {
                let word = words.next().unwrap_or_default();
                match words.peek() {
                    Some(number)
                        if number
                            .trim_end_matches([',', ';', '.', ')'])
                            .bytes()
                            .all(|b| b.is_ascii_digit()) =>
                    {
                        version.push(' ');
                        version.push_str(word);
                        version.push(' ');
                        version.push_str(number.trim_end_matches([',', ';', '.', ')']));
                        ended =
                            number.ends_with(',') || number.ends_with(';') || number.ends_with('.');
                        words.next();
                    }
                    _ => break,
                }
            } else {
                break;
            }
        }
        versions.push(version);
        if !ended {
            // "X and Y", "X or Y": one more version may follow.
            match words.peek() {
                Some(&"and") | Some(&"or") => {
                    words.next();
                }
                _ => break,
            }
        }
        if versions.len() >= 16 {
            break;
        }
    }
    versions
}

fn is_version_token(token: &str) -> bool {
    let digits = token.strip_prefix(['V', 'v']).unwrap_or(token);
    digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && digits.len() <= 40
}

fn is_cve_id(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=12).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

fn object_at<'a>(
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Map<String, Value>, String> {
    match object.get(key) {
        Some(Value::Object(inner)) => Ok(inner),
        Some(_) => Err("not an object, file skipped".into()),
        None => Err("missing, file skipped".into()),
    }
}

fn required_text(object: &Map<String, Value>, key: &str) -> Result<String, String> {
    match object.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(clean(text)),
        Some(Value::String(_)) => Err("empty, file skipped".into()),
        Some(_) => Err("not a string, file skipped".into()),
        None => Err("missing, file skipped".into()),
    }
}

fn problem(file: &str, field: &str, message: String) -> SourceProblem {
    SourceProblem::new(file, field, message)
}

/// Trimmed (CISA's names carry stray spaces: "Rockwell Automation ") and bounded.
fn clean(text: &str) -> String {
    cut(text.trim(), MAX_TEXT_CHARS).to_owned()
}

fn cut(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|known| known == item) {
        list.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_versions_from_vendor_fix_wording() {
        let cases: [(&str, &[&str]); 11] = [
            ("Update to V2.4 or later version", &["V2.4"]),
            ("Update to V2.0 SP1 or later version", &["V2.0 SP1"]),
            (
                "Update to V1.0 SP2 Update 3 or later version",
                &["V1.0 SP2 Update 3"],
            ),
            ("Update BIOS to V1.0.212N or later version", &["V1.0.212N"]),
            (
                "Update Fortigate NGFW to V7.4.1. Contact customer support",
                &["V7.4.1"],
            ),
            ("Update to V222.0MP12 or later version", &["V222.0MP12"]),
            ("Upgrade to version 3.1.2", &["3.1.2"]),
            (
                "ControlLogix 5570: Corrected in v33.016, 34.013, 35.012, 36.011 and later",
                &["v33.016", "34.013", "35.012", "36.011"],
            ),
            (
                "Easergy Studio: Version 9.3.6 of Easergy Studio includes a fix for this vulnerability",
                &["9.3.6"],
            ),
            ("Contact customer support to receive patch", &[]),
            ("Update the firmware of the integrated module", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(fixed_versions_in(text), expected, "{text}");
        }
    }

    #[test]
    fn cve_ids() {
        assert!(is_cve_id("CVE-2024-38876"));
        assert!(is_cve_id("CVE-2021-1234567"));
        assert!(!is_cve_id("CVE-24-1"));
        assert!(!is_cve_id("ICSA-24-228-11"));
        assert!(!is_cve_id("CVE-2024-38876x"));
    }
}
