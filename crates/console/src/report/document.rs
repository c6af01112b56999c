//! The report as a format-neutral document: a title page and sections of paragraphs, key
//! facts, figures and tables. The HTML and PDF renderers each walk this one structure, so the
//! two formats cannot disagree on content.

use super::figure::Figure;

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document title (title page, PDF metadata, HTML `<title>`).
    pub title: String,
    /// Lines under the title on the title page (scope, time, version).
    pub title_lines: Vec<(String, String)>,
    /// Short text in every page footer (the scope).
    pub footer: String,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// A titled section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Content in order.
    pub blocks: Vec<Block>,
}

impl Section {
    /// An empty section.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Appends a paragraph.
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Paragraph(text.into()));
        self
    }
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Running text, wrapped to the page width.
    Paragraph(String),
    /// A sub-heading inside a section.
    Heading(String),
    /// Label/value pairs shown as a two-column list.
    Facts(Vec<(String, String)>),
    /// A chart or map.
    Figure(Figure),
    /// A table.
    Table(Table),
}

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Header text.
    pub title: String,
    /// Share of the table width, relative to the other columns.
    pub weight: f32,
    /// Cell alignment.
    pub align: Align,
}

impl Column {
    /// A left-aligned column.
    pub fn text(title: &str, weight: f32) -> Self {
        Self {
            title: title.to_owned(),
            weight,
            align: Align::Left,
        }
    }

    /// A right-aligned (numeric) column.
    pub fn number(title: &str, weight: f32) -> Self {
        Self {
            title: title.to_owned(),
            weight,
            align: Align::Right,
        }
    }
}

/// A table holding at most a bounded number of rows of a possibly longer list.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Columns.
    pub columns: Vec<Column>,
    /// The rows shown, each with one cell per column.
    pub rows: Vec<Vec<String>>,
    /// Rows the full list has (at least `rows.len()`).
    pub total: usize,
    /// Where the full list can be had when rows were left out (e.g. the CSV export).
    pub full_list: Option<String>,
    /// Shown instead of an empty table.
    pub empty: String,
}

impl Table {
    /// A table of the first `limit` of `rows` (the rest only counted). Short rows are padded
    /// and long ones cut to the column count.
    pub fn bounded(
        columns: Vec<Column>,
        rows: impl IntoIterator<Item = Vec<String>>,
        limit: usize,
        empty: impl Into<String>,
    ) -> Self {
        Self::first(columns, rows, limit, empty, |row| row)
    }

    /// A table of the first `limit` of `items`, each made into a row by `row` (the rest are
    /// only counted: a list of 100,000 devices costs no formatting beyond the rows shown).
    pub fn first<T>(
        columns: Vec<Column>,
        items: impl IntoIterator<Item = T>,
        limit: usize,
        empty: impl Into<String>,
        mut row: impl FnMut(T) -> Vec<String>,
    ) -> Self {
        let width = columns.len();
        let mut kept = Vec::new();
        let mut total = 0usize;
        for item in items {
            total = total.saturating_add(1);
            if kept.len() < limit {
                let mut cells = row(item);
                cells.resize(width, String::new());
                kept.push(cells);
            }
        }
        Self {
            columns,
            rows: kept,
            total,
            full_list: None,
            empty: empty.into(),
        }
    }

    /// Names where the full list is, for a table that left rows out.
    pub fn with_full_list(mut self, place: impl Into<String>) -> Self {
        self.full_list = Some(place.into());
        self
    }

    /// "First N of M …" when rows were left out, `None` when the table is complete.
    pub fn truncation_note(&self) -> Option<String> {
        (self.total > self.rows.len()).then(|| {
            let mut note = format!("First {} of {} rows shown.", self.rows.len(), self.total);
            if let Some(place) = &self.full_list {
                note.push_str(" The full list: ");
                note.push_str(place);
                note.push('.');
            }
            note
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> impl Iterator<Item = Vec<String>> {
        (0..n).map(|i| vec![i.to_string()])
    }

    #[test]
    fn tables_keep_the_first_rows_and_count_all() {
        let table = Table::bounded(vec![Column::text("n", 1.0)], rows(250), 100, "none");
        assert_eq!(table.rows.len(), 100);
        assert_eq!(table.total, 250);
        assert_eq!(table.rows[99], vec!["99".to_owned()]);
        let table = table.with_full_list("the CSV export");
        assert_eq!(
            table.truncation_note().as_deref(),
            Some("First 100 of 250 rows shown. The full list: the CSV export.")
        );
    }

    #[test]
    fn complete_tables_have_no_note() {
        let table = Table::bounded(vec![Column::text("n", 1.0)], rows(3), 100, "none");
        assert_eq!(table.total, 3);
        assert_eq!(table.truncation_note(), None);
    }

    #[test]
    fn rows_are_fitted_to_the_columns() {
        let columns = vec![Column::text("a", 1.0), Column::number("b", 1.0)];
        let table = Table::bounded(
            columns,
            [
                vec!["x".to_owned()],
                vec!["1".into(), "2".into(), "3".into()],
            ],
            10,
            "none",
        );
        assert_eq!(table.rows[0], vec!["x".to_owned(), String::new()]);
        assert_eq!(table.rows[1], vec!["1".to_owned(), "2".to_owned()]);
    }
}
